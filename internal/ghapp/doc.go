// Package ghapp vends GitHub credentials for one configured GitHub App.
//
// Two kinds of grant use it. Mode "user": a hub user links their GitHub
// account once through the OAuth device flow, which the server starts and
// polls ([App.StartLogin], [Links.PollLogin]); the refresh token is kept
// encrypted in the store and mints fresh 8-hour user tokens on demand, so
// the user logs in again only when the refresh token (six months) runs out.
// Mode "installation": 1-hour installation tokens minted with the App's
// RS256 JWT, narrowed to the grant's repositories and permissions.
//
// GitHub's refresh tokens are single-use: using one ends it and the old
// access token. A refresh therefore runs once per user at a time (concurrent
// callers share it), inside a store transaction that holds the user's link,
// and the rotated tokens are written in the same transaction. Should that
// write fail after GitHub has rotated, the new tokens are kept in memory,
// served, and written as soon as the store takes them: they are never
// dropped while the process lives.
//
// [App] is the [vend.Provider] for a github provider; [Links] serves the
// account-link endpoints for all of them. Nothing this package logs or puts
// in an error holds a token, a refresh token, a device code or the private
// key.
package ghapp
