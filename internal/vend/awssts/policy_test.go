package awssts

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/vend"
)

func TestSessionPolicyGolden(t *testing.T) {
	const (
		list     = `{"Sid":"List","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::scratch"]`
		location = `{"Sid":"Location","Effect":"Allow","Action":["s3:GetBucketLocation"],"Resource":["arn:aws:s3:::scratch"]}`
		read     = `"Action":["s3:GetObject"]`
		write    = `"Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"]`
	)
	tests := []struct {
		name     string
		prefixes []string
		access   policy.Access
		want     string
	}{
		{
			name: "read one prefix", prefixes: []string{"alice/"}, access: policy.AccessRead,
			want: `{"Version":"2012-10-17","Statement":[` +
				list + `,"Condition":{"StringLike":{"s3:prefix":["alice/*"]}}},` + location + `,` +
				`{"Sid":"Objects","Effect":"Allow",` + read + `,"Resource":["arn:aws:s3:::scratch/alice/*"]}]}`,
		},
		{
			name: "readwrite one prefix", prefixes: []string{"alice/"}, access: policy.AccessReadWrite,
			want: `{"Version":"2012-10-17","Statement":[` +
				list + `,"Condition":{"StringLike":{"s3:prefix":["alice/*"]}}},` + location + `,` +
				`{"Sid":"Objects","Effect":"Allow",` + write + `,"Resource":["arn:aws:s3:::scratch/alice/*"]}]}`,
		},
		{
			name: "whole bucket", prefixes: []string{""}, access: policy.AccessRead,
			want: `{"Version":"2012-10-17","Statement":[` + list + `},` + location + `,` +
				`{"Sid":"Objects","Effect":"Allow",` + read + `,"Resource":["arn:aws:s3:::scratch/*"]}]}`,
		},
		{
			name: "whole bucket absorbs other prefixes", prefixes: []string{"alice/", ""}, access: policy.AccessRead,
			want: `{"Version":"2012-10-17","Statement":[` + list + `},` + location + `,` +
				`{"Sid":"Objects","Effect":"Allow",` + read + `,"Resource":["arn:aws:s3:::scratch/*"]}]}`,
		},
		{
			name: "two prefixes", prefixes: []string{"groups/geo/", "groups/ocean/"}, access: policy.AccessReadWrite,
			want: `{"Version":"2012-10-17","Statement":[` +
				list + `,"Condition":{"StringLike":{"s3:prefix":["groups/geo/*","groups/ocean/*"]}}},` + location + `,` +
				`{"Sid":"Objects","Effect":"Allow",` + write + `,"Resource":["arn:aws:s3:::scratch/groups/geo/*","arn:aws:s3:::scratch/groups/ocean/*"]}]}`,
		},
		{
			name: "duplicate prefixes once", prefixes: []string{"alice/", "alice/"}, access: policy.AccessRead,
			want: `{"Version":"2012-10-17","Statement":[` +
				list + `,"Condition":{"StringLike":{"s3:prefix":["alice/*"]}}},` + location + `,` +
				`{"Sid":"Objects","Effect":"Allow",` + read + `,"Resource":["arn:aws:s3:::scratch/alice/*"]}]}`,
		},
		{
			name: "HTML characters stay unescaped", prefixes: []string{"a&b<c>/"}, access: policy.AccessRead,
			want: `{"Version":"2012-10-17","Statement":[` +
				list + `,"Condition":{"StringLike":{"s3:prefix":["a&b<c>/*"]}}},` + location + `,` +
				`{"Sid":"Objects","Effect":"Allow",` + read + `,"Resource":["arn:aws:s3:::scratch/a&b<c>/*"]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SessionPolicy("scratch", tt.prefixes, tt.access)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("SessionPolicy mismatch (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("SessionPolicy is not valid JSON: %s", got)
			}
		})
	}
}

func TestSessionPolicyRejects(t *testing.T) {
	tests := []struct {
		name     string
		bucket   string
		prefixes []string
		access   policy.Access
	}{
		{"star", "scratch", []string{"ali*/"}, policy.AccessRead},
		{"question mark", "scratch", []string{"ali?/"}, policy.AccessRead},
		{"policy variable", "scratch", []string{"${aws:username}/"}, policy.AccessRead},
		{"no trailing slash", "scratch", []string{"alice"}, policy.AccessRead},
		{"one bad among good", "scratch", []string{"alice/", "bob"}, policy.AccessRead},
		{"control character", "scratch", []string{"al\nice/"}, policy.AccessRead},
		{"invalid UTF-8", "scratch", []string{"al\xffice/"}, policy.AccessRead},
		{"no prefixes", "scratch", nil, policy.AccessRead},
		{"unknown access", "scratch", []string{"alice/"}, policy.Access(7)},
		{"empty access", "scratch", []string{"alice/"}, policy.Access(0)},
		{"empty bucket", "", []string{"alice/"}, policy.AccessRead},
		{"wildcard bucket", "scr*", []string{"alice/"}, policy.AccessRead},
		{"bucket with slash", "scratch/other", []string{"alice/"}, policy.AccessRead},
		{"bucket with quote", `scratch"`, []string{"alice/"}, policy.AccessRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SessionPolicy(tt.bucket, tt.prefixes, tt.access)
			if err == nil {
				t.Fatalf("SessionPolicy(%q, %q, %q) = %s, want an error", tt.bucket, tt.prefixes, tt.access, got)
			}
			if errors.Is(err, vend.ErrPolicyTooLarge) {
				t.Errorf("err = %v, must not be ErrPolicyTooLarge", err)
			}
		})
	}
}

func TestSessionPolicyTooLarge(t *testing.T) {
	var prefixes []string
	for i := range 40 {
		prefixes = append(prefixes, fmt.Sprintf("groups/project-number-%02d/", i))
	}
	_, err := SessionPolicy("scratch", prefixes, policy.AccessReadWrite)
	if !errors.Is(err, vend.ErrPolicyTooLarge) {
		t.Fatalf("err = %v, want ErrPolicyTooLarge", err)
	}
	if !strings.Contains(err.Error(), "2048") {
		t.Errorf("err = %q, want it to name the 2048-byte limit", err)
	}

	// The largest policy that fits is accepted: the limit is inclusive.
	for n := len(prefixes); n > 0; n-- {
		got, err := SessionPolicy("scratch", prefixes[:n], policy.AccessReadWrite)
		if err == nil {
			if len(got) > MaxPolicySize {
				t.Fatalf("accepted a %d-byte policy", len(got))
			}
			return
		}
		if !errors.Is(err, vend.ErrPolicyTooLarge) {
			t.Fatal(err)
		}
	}
	t.Fatal("no number of prefixes fits")
}
