package vend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/credserver/credserver/internal/policy"
)

// Credentials is one issued credential.
//
// Values returned by a [Cache] are shared between callers and must be
// treated as read-only.
type Credentials struct {
	// Expires is when the upstream says the credential stops working.
	Expires time.Time
	// KeyID is a non-secret identifier for the audit log (for AWS, the
	// access key id); "" when the upstream has none.
	KeyID string
	// Body is the provider's JSON response object (field names from the
	// public API), including the common fields grant, provider and
	// expires_at. A [Cache] hands it out already encoded, as a
	// json.RawMessage. It holds secrets: never log it.
	Body any
}

// Provider issues credentials from one upstream.
//
// Implementations must be safe for concurrent use. Errors from the upstream
// are returned as *[UpstreamError]; a request the provider cannot express
// (for example a policy over the upstream's size limit) returns an error
// wrapping a sentinel such as [ErrPolicyTooLarge].
//
// The Decision is the policy's, passed on as it is: every field that
// shapes a credential is in it, and [Key] is computed from it. Its User is
// the raw hub username, for audit names (session names) only: never put it
// into a policy or a path, which is what its Prefixes are for.
type Provider interface {
	Issue(ctx context.Context, d policy.Decision) (*Credentials, error)
}

// ErrPolicyTooLarge reports that the session policy generated for a request
// exceeds the provider's limit. It is a configuration problem (too many
// prefixes or very long ones), not a transient failure.
var ErrPolicyTooLarge = errors.New("session policy too large")

// UpstreamError reports that an upstream (STS, GitHub, ...) refused or
// failed a request.
//
// Reason is safe to show a client: providers strip account ids, ARNs and
// anything secret from it. Err is the original error, for logs only.
type UpstreamError struct {
	// Upstream names the service, e.g. "sts".
	Upstream string
	// Status is the upstream's HTTP status, 0 when no response arrived.
	Status int
	// Code is the upstream's error code (e.g. "AccessDenied"), "" when it
	// sent none.
	Code string
	// Reason is a human sentence safe to show a client.
	Reason string
	// Err is the underlying error.
	Err error
}

// Error describes the failure using only the client-safe fields, so that
// printing it cannot leak what Err holds.
func (e *UpstreamError) Error() string {
	msg := e.Upstream + ": "
	if e.Code != "" {
		msg += e.Code + ": "
	}
	msg += e.Reason
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	return msg
}

// Unwrap returns the underlying error so errors.Is can see, for example,
// context.DeadlineExceeded.
func (e *UpstreamError) Unwrap() error { return e.Err }

// Where returns what a credential body reports about its location: the
// first prefix, all of them when there are several (a {group} grant), and
// the URL, from d.Location or else scheme://bucket/prefix.
func Where(d policy.Decision, scheme string) (prefix string, prefixes []string, url string) {
	if len(d.Prefixes) > 0 {
		prefix = d.Prefixes[0]
	}
	if len(d.Prefixes) > 1 {
		prefixes = slices.Clone(d.Prefixes)
	}
	url = d.Location
	if url == "" {
		url = scheme + "://" + d.Bucket + "/" + prefix
	}
	return prefix, prefixes, url
}
