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
// Only tokens meant for credserver are accepted: the hub must list
// access:services or access:services!service=<ServiceName> among the token's
// scopes ([ServiceAccessScopes]), the hub's own rule for what a service may
// accept. A token the hub issued to another OAuth client (a dashboard
// service, a user's server that someone opened) carries that client's
// access scope instead and is refused with [ErrNotForService].
//
// Errors are sentinel values ([ErrNoToken], [ErrInvalidToken], [ErrForbidden],
// [ErrNotForService], [ErrHubUnavailable], [ErrHubMisconfigured]) wrapped with detail; only
// internal/server turns them into HTTP status codes.
package auth
