// Package store keeps credserver's durable state: the GitHub authorizations
// users link to their hub accounts (refresh tokens, current user tokens) and
// the device-flow logins in progress.
//
// [Store] is the interface the rest of the server uses; [SQLite] is the
// embedded default (modernc.org/sqlite, pure Go) and [Postgres] (pgx) serves
// several replicas sharing one database. Every read-modify-write goes
// through an Update method whose callback runs inside one transaction
// holding the row: BEGIN IMMEDIATE for SQLite, SELECT ... FOR UPDATE for
// PostgreSQL, so a single-use refresh token is rotated by exactly one
// replica. The storetest subpackage is the conformance suite both pass (the
// PostgreSQL one against a real server, also as two alternating replicas).
//
// Tokens and device codes are encrypted at rest with AES-256-GCM ([Sealer]);
// the provider, the hub user and the column are bound as associated data,
// so a sealed value copied into another user's row (or another column) does
// not decrypt. The key comes from a file ([LoadKeyFile]); a database opened
// with a key other than the one it was created with is refused at start.
//
// Links and device logins carry the hub account they belong to (its
// "created" time, [GitHubLink.AccountCreated]); comparing it is the
// caller's (ghapp's) job. A user has at most one pending device login per
// provider ([ErrPendingLogin], a unique index).
//
// A PostgreSQL database that cannot be reached is [ErrUnavailable], an
// outage rather than a bug. Reads are retried once on a fresh connection;
// writes only when the failure came before anything was sent (or, for
// Updates, before the callback ran), so a callback's side effects — a
// single-use refresh token spent at GitHub — never happen twice.
package store
