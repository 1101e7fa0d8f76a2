// Package store keeps credserver's durable state: the GitHub authorizations
// users link to their hub accounts (refresh tokens, current user tokens) and
// the device-flow logins in progress.
//
// [Store] is the interface the rest of the server uses; [SQLite] is the
// embedded default (modernc.org/sqlite, pure Go). A PostgreSQL
// implementation for several replicas fits the same interface: every
// read-modify-write goes through an Update method whose callback runs inside
// one transaction holding the row, which is SELECT ... FOR UPDATE there and
// BEGIN IMMEDIATE here. The storetest subpackage is the conformance suite
// every implementation must pass.
//
// Tokens and device codes are encrypted at rest with AES-256-GCM ([Sealer]);
// the provider, the hub user and the column are bound as associated data,
// so a sealed value copied into another user's row (or another column) does
// not decrypt. The key comes from a file ([LoadKeyFile]); a database opened
// with a key other than the one it was created with is refused at start.
package store
