// Package fakegithub is an in-process GitHub for tests: the parts of the
// OAuth device flow, user-token refresh, GitHub App installation tokens and
// app-authorization revocation that credserver uses, following GitHub's
// documented protocol — error codes as 200 JSON {"error": ...} on the token
// endpoint, single-use rotating refresh tokens that also end the old access
// token, RS256 App JWTs with at most 10 minutes of life — on a clock the
// test controls.
//
// Every route it does not implement answers 501 naming the route (and fails
// the test when started with [Start]), so a client calling something new is
// noticed. Counters and recorded requests let tests assert what reached
// "GitHub"; [Server.Check] tells a git server whether a token is valid now.
package fakegithub
