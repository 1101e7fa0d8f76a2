package auth

import (
	"context"
	"errors"
)

// Identity is who is calling, as the hub says.
//
// The slices are the caller's own: every call to [Hub.Authenticate] returns
// fresh copies, so a caller may sort or modify them without affecting the
// cache or other callers. They may be nil when the hub lists nothing.
type Identity struct {
	// Name is the hub username, exactly as the hub spells it (not yet made
	// safe for paths; see the policy package's user segment).
	Name string
	// Groups are the hub groups of the token's owner. The hub always lists
	// all of them, whatever the token's scopes.
	Groups []string
	// Scopes are the hub.require_scopes this token was found to hold (all
	// of them, or the identity would have been refused). The hub's full list
	// is not kept: JupyterHub 3 lists every scope of the user's role, and
	// 100,000 cached identities would carry them all for nothing.
	Scopes []string
	// Admin reports whether the hub marks the user as an admin. It grants
	// nothing by itself in credserver; policy decides.
	Admin bool
	// Delegation is set when the caller authenticated with a delegation
	// token: Name, Groups and Admin are then its owner's, as the hub has
	// them now, and only what Delegation lists may be asked. nil for a hub
	// token.
	Delegation *Delegation
}

// Authenticator resolves a hub token to an Identity.
//
// Implementations are safe for concurrent use. Errors match one of the
// sentinels below with errors.Is, and never contain the token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Identity, error)
}

// Sentinel errors. Each is returned wrapped with detail meant for logs;
// callers test them with errors.Is. Only the detail of ErrForbidden is
// written to be shown to the client.
var (
	// ErrNoToken means the Authorization header is missing or malformed
	// (wrong scheme, empty, over 512 bytes, spaces or control characters).
	// The server answers 401.
	ErrNoToken = errors.New("no valid hub token in the Authorization header")

	// ErrInvalidToken means the hub rejected the token (unknown, expired or
	// revoked). The server answers 401.
	ErrInvalidToken = errors.New("hub token is not valid")

	// ErrForbidden means the token is valid but may not use credserver: it
	// is not a user's token, or it lacks a required scope. The wrapped
	// message says which and is safe to show. The server answers 403.
	ErrForbidden = errors.New("hub token may not be used here")

	// ErrNotForService means the token is a user's but was not issued for
	// credserver: the hub lists neither access:services nor
	// access:services!service=<ServiceName> among its scopes (a token the
	// hub issued to another OAuth client, or a personal token made without
	// that scope). The wrapped message names the missing scope and the fix,
	// and is safe to show. Cached like ErrForbidden; the server answers 403.
	ErrNotForService = errors.New("hub token was not issued for this service")

	// ErrHubUnavailable means the hub could not be asked: transport error,
	// timeout, the caller's deadline, or a hub 5xx. Never cached; the server
	// answers 503 with Retry-After.
	ErrHubUnavailable = errors.New("hub unavailable")

	// ErrHubMisconfigured means the hub answered something the hub API never
	// answers when hub.api_url is right: a redirect, 404, another unexpected
	// status, or a body that is not the expected JSON. Never cached; the
	// server answers 502.
	ErrHubMisconfigured = errors.New("hub API answered unexpectedly; check hub.api_url")
)
