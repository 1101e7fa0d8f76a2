package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable reports that the database could not be reached: refused or
// dropped connections, a server shutting down or starting up, too many
// connections. It is an outage, not a bug: the server answers 503
// store_unavailable with Retry-After, and /readyz fails. Errors matching it
// say what happened in their text (never the DSN's password).
var ErrUnavailable = errors.New("store: the database is unavailable")

// ErrPendingLogin reports that [Store.CreateDeviceLogin] was asked to store
// a second pending device login for one hub user and provider.
var ErrPendingLogin = errors.New("store: the user already has a pending device login")

// connectionLost reports whether err is a failure of the connection or of
// the server as a whole rather than of the statement: the next connection
// may well succeed.
func connectionLost(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// retryKind says when a failed store operation may run a second time.
type retryKind int

const (
	// retryRead: the operation changes nothing; any connection-level
	// failure is retried.
	retryRead retryKind = iota
	// retryBeforeSend: the operation writes; it is retried only when the
	// failure is known to have happened before anything reached the server
	// (pgconn.SafeToRetry), or before its callback ran.
	retryBeforeSend
)

// callbackError carries an Update callback's own error through withRetry
// untouched: it is the caller's, not the database's (a GitHub call that
// failed inside a refresh must not pass for a store outage).
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// withRetry runs op once more on a fresh connection when its first try
// failed at the connection level and kind allows it: the pool's idle
// connections are dropped first (after a database restart they are all
// dead, and the pool would hand out the next one). sent reports whether
// the failed try may have reached the server with a write, or ran an
// Update callback.
func (s *Postgres) withRetry(ctx context.Context, kind retryKind, op func() (sent bool, err error)) error {
	sent, err := op()
	if err != nil && connectionLost(err) && ctx.Err() == nil &&
		(kind == retryRead || !sent || pgconn.SafeToRetry(err)) {
		s.pool.Reset()
		s.retries.Add(1)
		_, err = op()
	}
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	if connectionLost(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, s.redact(err))
	}
	return s.redact(err)
}

// Retries counts the operations retried on a fresh connection after a
// connection-level failure.
func (s *Postgres) Retries() uint64 { return s.retries.Load() }
