package ghapp

import (
	"errors"
	"fmt"

	"github.com/credserver/credserver/internal/vend"
)

// ErrNotLinked reports that the hub user has no usable GitHub authorization
// for the provider: never linked, unlinked, or the refresh token expired or
// was revoked at GitHub. The user fixes it with `credctl github login`.
var ErrNotLinked = errors.New("github account not linked")

// ErrLoginNotFound reports a device login id that does not exist, belongs
// to another hub user, or was cleaned up after it ended.
var ErrLoginNotFound = errors.New("github login not found")

// upstreamName is the Upstream of every *vend.UpstreamError from here.
const upstreamName = "github"

func upstreamErr(status int, code, reason string, err error) *vend.UpstreamError {
	return &vend.UpstreamError{Upstream: upstreamName, Status: status, Code: code, Reason: reason, Err: err}
}

// oauthError is an OAuth error GitHub returned on the token or device-code
// endpoint (HTTP 200 with {"error": ...}). Its fields are GitHub's words,
// which hold no secret.
type oauthError struct {
	Code        string
	Description string
	// Interval is the new polling interval in seconds that GitHub may send
	// with slow_down; 0 when absent.
	Interval int
}

func (e *oauthError) Error() string {
	if e.Description == "" {
		return "github oauth: " + e.Code
	}
	return fmt.Sprintf("github oauth: %s: %s", e.Code, e.Description)
}

// apiError is a non-2xx answer of GitHub's REST API. Message is GitHub's
// "message" field.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("github api: HTTP %d: %s", e.Status, e.Message)
}
