package policy

import (
	"errors"
	"fmt"
)

// Access is the level of access a credential carries. The zero value means
// "not given" in a [Request]; it is never the access of a [Decision].
type Access uint8

// Access levels, ordered: a grant allowing AccessReadWrite may be asked
// for AccessRead.
const (
	AccessRead      Access = 1
	AccessReadWrite Access = 2
)

// String returns "read" or "readwrite" (the API and config spelling).
func (a Access) String() string {
	switch a {
	case AccessRead:
		return "read"
	case AccessReadWrite:
		return "readwrite"
	default:
		return fmt.Sprintf("Access(%d)", uint8(a))
	}
}

// ParseAccess parses "read" or "readwrite". Anything else is a
// *[RequestError] for the "access" parameter.
func ParseAccess(s string) (Access, error) {
	switch s {
	case "read":
		return AccessRead, nil
	case "readwrite":
		return AccessReadWrite, nil
	}
	return 0, &RequestError{Param: "access", Msg: fmt.Sprintf("access %q must be read or readwrite", clip(s))}
}

var (
	// ErrUnknownGrant means no grant of that name is configured.
	ErrUnknownGrant = errors.New("unknown grant")
	// ErrNotAllowed means the grant exists but the user may not use it.
	ErrNotAllowed = errors.New("not allowed")
)

// RequestError is a request parameter out of bounds for the grant: the
// client should fix its request (the server answers 400). Msg is a human
// sentence naming the bound, safe to show the user.
type RequestError struct {
	// Param is the request parameter at fault: "access" or "duration".
	Param string
	// Msg says what is wrong, e.g. "duration 13h exceeds this grant's
	// maximum of 12h".
	Msg string
}

// Error returns Msg.
func (e *RequestError) Error() string { return e.Msg }

// clip bounds a caller-supplied value quoted back in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
