package awssts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/public"
	"strings"
	"unicode/utf8"

	"github.com/credserver/credserver/internal/vend"
)

// MaxPolicySize is the limit STS puts on an inline session policy, in
// characters of its plain-text JSON.
const MaxPolicySize = 2048

// Object actions. GetObject also covers HeadObject, which s3fs uses for
// info() and exists(); multipart uploads are authorised by PutObject, with
// Abort and ListParts for cleanup and resumption.
var (
	readObjectActions  = []string{"s3:GetObject"}
	writeObjectActions = []string{
		"s3:GetObject", "s3:PutObject", "s3:DeleteObject",
		"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
	}
)

type policyDocument struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string    `json:"Sid"`
	Effect    string    `json:"Effect"`
	Action    []string  `json:"Action"`
	Resource  []string  `json:"Resource"`
	Condition condition `json:"Condition,omitempty"`
}

// condition is operator → key → values, as in IAM.
type condition map[string]map[string][]string

// errInvalidPolicyInput marks arguments SessionPolicy refuses; the policy
// package should have rejected them long before.
var errInvalidPolicyInput = errors.New("invalid session policy input")

// SessionPolicy returns the inline session policy that limits a credential to
// the given prefixes of bucket: listing conditioned on s3:prefix, the bucket's
// location, and object actions on bucket/prefix*. A "" prefix stands for the
// whole bucket. access is "read" or "readwrite".
//
// The result is compact JSON. A policy over [MaxPolicySize] returns an error
// wrapping [vend.ErrPolicyTooLarge]. A prefix that does not end in "/" or
// contains a wildcard ("*", "?") or a policy variable ("$") is refused: the
// policy package encodes usernames before they get here, and this is the
// last line of defence if it did not.
func SessionPolicy(bucket string, prefixes []string, access policy.Access) ([]byte, error) {
	if err := validateBucket(bucket); err != nil {
		return nil, err
	}
	if len(prefixes) == 0 {
		return nil, fmt.Errorf("%w: no prefixes", errInvalidPolicyInput)
	}
	for _, p := range prefixes {
		if err := validatePrefix(p); err != nil {
			return nil, err
		}
	}
	var objectActions []string
	switch access {
	case policy.AccessRead:
		objectActions = readObjectActions
	case policy.AccessReadWrite:
		objectActions = writeObjectActions
	default:
		return nil, fmt.Errorf("%w: access %q is neither %q nor %q", errInvalidPolicyInput, access, policy.AccessRead, policy.AccessReadWrite)
	}

	bucketARN := "arn:aws:s3:::" + bucket
	list := statement{Sid: "List", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN}}
	objects := statement{Sid: "Objects", Effect: "Allow", Action: objectActions}
	if wholeBucket(prefixes) {
		objects.Resource = []string{bucketARN + "/*"}
	} else {
		var listPrefixes []string
		for _, p := range dedupe(prefixes) {
			listPrefixes = append(listPrefixes, p+"*")
			objects.Resource = append(objects.Resource, bucketARN+"/"+p+"*")
		}
		list.Condition = condition{"StringLike": {"s3:prefix": listPrefixes}}
	}
	doc := policyDocument{
		Version: "2012-10-17",
		Statement: []statement{
			list,
			{Sid: "Location", Effect: "Allow", Action: []string{"s3:GetBucketLocation"}, Resource: []string{bucketARN}},
			objects,
		},
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode session policy: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxPolicySize {
		return nil, public.Wrap(vend.ErrPolicyTooLarge, fmt.Sprintf("the session policy for bucket %q and %d prefixes is %d bytes, over the STS limit of %d; use fewer or shorter prefixes",
			bucket, len(prefixes), len(out), MaxPolicySize))
	}
	return out, nil
}

// validateBucket accepts the characters S3 bucket names may have had at any
// time (legacy us-east-1 names allowed capitals and underscores), which rules
// out anything that could widen the ARN.
func validateBucket(bucket string) error {
	if bucket == "" || len(bucket) > 255 {
		return fmt.Errorf("%w: bucket name must be 1 to 255 characters", errInvalidPolicyInput)
	}
	for _, r := range bucket {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("%w: bucket name %q contains %q", errInvalidPolicyInput, bucket, r)
		}
	}
	return nil
}

func validatePrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("%w: prefix %q does not end in \"/\"", errInvalidPolicyInput, p)
	}
	if i := strings.IndexAny(p, "*?$"); i >= 0 {
		return fmt.Errorf("%w: prefix %q contains %q", errInvalidPolicyInput, p, p[i])
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: prefix %q is not valid UTF-8", errInvalidPolicyInput, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: prefix %q contains a control character", errInvalidPolicyInput, p)
		}
	}
	return nil
}

func wholeBucket(prefixes []string) bool {
	for _, p := range prefixes {
		if p == "" {
			return true
		}
	}
	return false
}

func dedupe(prefixes []string) []string {
	seen := make(map[string]bool, len(prefixes))
	out := prefixes[:0:0]
	for _, p := range prefixes {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
