// Package server is credserver's HTTP surface: the chi router mounted under
// the configured base path, its middleware (request ids, no-store, body
// limits, request logging, panics), the handlers of the public API in
// DESIGN §5, and the single place where domain errors from auth, policy and
// vend become HTTP status codes and the JSON error body.
//
// Handlers return errors; writeError maps them. A client only ever sees the
// message of an apiError, never the wrapped error, which goes to the log.
package server
