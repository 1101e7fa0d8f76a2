package gcs

import (
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/public"
	"strings"
	"unicode/utf8"

	"golang.org/x/oauth2/google/downscope"

	"github.com/credserver/credserver/internal/vend"
)

// Limits of a Credential Access Boundary.
const (
	// MaxRules is the number of rules Google's STS accepts in one boundary.
	MaxRules = 10
	// MaxConditionLength bounds one rule's CEL expression. Google documents
	// no figure; 2048 characters is what client libraries enforce, and about
	// ten group prefixes fit.
	MaxConditionLength = 2048
)

// Access levels and the predefined roles that bound them. objectUser is
// objectAdmin without IAM and ACL changes: create, overwrite, delete,
// list and multipart uploads.
const (
	roleRead      = "inRole:roles/storage.objectViewer"
	roleReadWrite = "inRole:roles/storage.objectUser"
)

// errInvalidBoundaryInput marks arguments Boundary refuses; the policy
// package should have rejected them long before.
var errInvalidBoundaryInput = errors.New("invalid access boundary input")

// Boundary returns the Credential Access Boundary rules that limit a token
// to the given prefixes of bucket: one rule for the bucket whose condition
// admits an object whose name starts with one of the prefixes, or a listing
// whose prefix does (api.getAttribute('storage.googleapis.com/objectListPrefix')).
// A "" prefix stands for the whole bucket and drops the condition. access
// is "read" (objectViewer) or "readwrite" (objectUser).
//
// Each prefix is put in a single-quoted CEL string. Prefixes reach here
// percent-encoded, but a quote, backslash, control character or invalid
// UTF-8 is refused rather than escaped, so no input can end the string
// early. A condition over [MaxConditionLength] wraps
// [vend.ErrPolicyTooLarge].
func Boundary(bucket string, prefixes []string, access policy.Access) ([]downscope.AccessBoundaryRule, error) {
	if err := validateBucket(bucket); err != nil {
		return nil, err
	}
	var role string
	switch access {
	case policy.AccessRead:
		role = roleRead
	case policy.AccessReadWrite:
		role = roleReadWrite
	default:
		return nil, fmt.Errorf("%w: access %q must be read or readwrite", errInvalidBoundaryInput, access)
	}
	if len(prefixes) == 0 {
		return nil, fmt.Errorf("%w: no prefixes", errInvalidBoundaryInput)
	}
	whole := false
	for _, p := range prefixes {
		if p == "" {
			whole = true
			continue
		}
		if err := validatePrefix(p); err != nil {
			return nil, err
		}
	}
	rule := downscope.AccessBoundaryRule{
		AvailableResource:    "//storage.googleapis.com/projects/_/buckets/" + bucket,
		AvailablePermissions: []string{role},
	}
	if !whole {
		expr := condition(bucket, prefixes)
		if n := utf8.RuneCountInString(expr); n > MaxConditionLength {
			return nil, public.Wrap(vend.ErrPolicyTooLarge, fmt.Sprintf("the access boundary condition for %d prefixes is %d characters, over Google's limit of %d",
				len(prefixes), n, MaxConditionLength))
		}
		rule.Condition = &downscope.AvailabilityCondition{Expression: expr}
	}
	rules := []downscope.AccessBoundaryRule{rule}
	if len(rules) > MaxRules {
		return nil, public.Wrap(vend.ErrPolicyTooLarge, fmt.Sprintf("%d access boundary rules, over Google's limit of %d", len(rules), MaxRules))
	}
	return rules, nil
}

// condition is the CEL expression admitting objects under, and listings
// of, any of prefixes. Listing carries the bucket as its resource, hence
// the second clause per prefix.
func condition(bucket string, prefixes []string) string {
	var clauses []string
	for _, p := range prefixes {
		clauses = append(clauses,
			"resource.name.startsWith('projects/_/buckets/"+bucket+"/objects/"+p+"')",
			"api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('"+p+"')")
	}
	return strings.Join(clauses, " || ")
}

func validateBucket(b string) error {
	if len(b) < 3 || len(b) > 222 {
		return fmt.Errorf("%w: bucket %q must be 3 to 222 characters", errInvalidBoundaryInput, b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: bucket %q may hold only lowercase letters, digits, '-', '_' and '.'", errInvalidBoundaryInput, b)
		}
	}
	return nil
}

// validatePrefix refuses what could end or bend a single-quoted CEL string.
func validatePrefix(p string) error {
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("%w: prefix %q must end in /", errInvalidBoundaryInput, p)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: prefix %q is not valid UTF-8", errInvalidBoundaryInput, p)
	}
	for _, r := range p {
		if r == '\'' || r == '\\' || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%w: prefix %q holds a quote, backslash or control character", errInvalidBoundaryInput, p)
		}
	}
	return nil
}
