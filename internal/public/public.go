// Package public marks error text that may be shown to a client.
//
// An API error body carries a human sentence. Anything that reaches it from
// below the HTTP layer must have been written for that: no secret, token,
// account id or ARN, no upstream body. A plain error's text is never shown
// (the client gets a generic message and the log gets the text); only the
// Msg of an [Error], which its producer wrote for a client, is. This is
// tailscale's vizerror idea with the message kept apart from the error it
// explains, so that wrapping can never smuggle text into a response.
package public

import "errors"

// Error is an error with a message meant for the client. Err, when set, is
// what errors.Is and errors.As see (typically a sentinel such as
// auth.ErrForbidden) and what logs show; it is never shown to the client.
type Error struct {
	// Msg is a complete sentence safe to show a client.
	Msg string
	// Err is the error it explains, or nil.
	Err error
}

// Wrap returns an error matching err (errors.Is/As) whose client-facing
// message is msg. msg must hold nothing secret.
func Wrap(err error, msg string) error { return &Error{Msg: msg, Err: err} }

// Error returns the public message, then the wrapped error's text.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Err.Error() + ": " + e.Msg
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Message returns the public message of the first *Error in err's chain,
// or fallback when there is none: a plain error's text is never returned.
func Message(err error, fallback string) string {
	var pe *Error
	if errors.As(err, &pe) && pe.Msg != "" {
		return pe.Msg
	}
	return fallback
}
