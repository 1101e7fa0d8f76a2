// Package auth answers "who is calling?" for credserver: it turns the
// JupyterHub token a client presents into an [Identity].
//
// The token is read only from the Authorization header ([TokenFromRequest]);
// a token in the query string is ignored so that it never lands in access logs
// or browser history. [Hub] validates tokens against the hub's REST API
// (GET {api_url}/user) and is the only [Authenticator] the server uses in
// production; tests of other packages are expected to write their own fake.
//
// Caching, because every notebook process asks on every request:
//
//	cache          key                   TTL                    never cached
//	hub tokens     SHA-256 of the token  CacheTTL (60s) for     hub unreachable, hub 5xx,
//	               (LRU, MaxEntries)     identities; NegativeTTL misconfigured hub
//	                                     (10s) for invalid or
//	                                     forbidden tokens
//
// The raw token is never a cache key, never stored, and never part of an
// error: a process dump or a log line cannot leak it. Concurrent lookups of
// one token share one hub call, so a Dask cluster starting 1,000 workers costs
// the hub one request.
//
// Errors are sentinel values ([ErrNoToken], [ErrInvalidToken], [ErrForbidden],
// [ErrHubUnavailable], [ErrHubMisconfigured]) wrapped with detail; only
// internal/server turns them into HTTP status codes.
package auth
