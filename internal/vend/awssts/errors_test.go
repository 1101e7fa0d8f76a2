package awssts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/vend"
)

func TestIssueMapsSTSErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter)
		want  vend.UpstreamError
	}{
		{
			name: "access denied with ARNs",
			reply: func(w http.ResponseWriter) {
				writeSTSError(w, 403, "AccessDenied", "User: arn:aws:iam::123456789012:user/credserver is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/scratch")
			},
			want: vend.UpstreamError{Upstream: "sts", Status: 403, Code: "AccessDenied",
				Reason: "User: <arn> is not authorized to perform: sts:AssumeRole on resource: <arn>"},
		},
		{
			name: "malformed policy with bare account id",
			reply: func(w http.ResponseWriter) {
				writeSTSError(w, 400, "MalformedPolicyDocument", "Policy rejected for account 123456789012")
			},
			want: vend.UpstreamError{Upstream: "sts", Status: 400, Code: "MalformedPolicyDocument",
				Reason: "Policy rejected for account <account>"},
		},
		{
			name: "duration over the role maximum",
			reply: func(w http.ResponseWriter) {
				writeSTSError(w, 400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
			},
			want: vend.UpstreamError{Upstream: "sts", Status: 400, Code: "ValidationError",
				Reason: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		},
		{
			name: "server error after the SDK's retries",
			reply: func(w http.ResponseWriter) {
				writeSTSError(w, 500, "InternalFailure", "try again")
			},
			want: vend.UpstreamError{Upstream: "sts", Status: 500, Code: "InternalFailure", Reason: "try again"},
		},
		{
			name: "not STS at all",
			reply: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, "<html>proxy says no</html>")
			},
			want: vend.UpstreamError{Upstream: "sts", Status: 403, Reason: "STS answered HTTP 403"},
		},
		{
			name: "credential already expired",
			reply: func(w http.ResponseWriter) {
				writeAssumeRole(w, "arn:aws:sts::123456789012:assumed-role/scratch/alice", testNow.Add(-time.Hour))
			},
			want: vend.UpstreamError{Upstream: "sts", Reason: "STS returned a credential that is already expired (clock skew?)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t, testNow.Add(time.Hour))
			sts.reply = func(w http.ResponseWriter, _ url.Values) { tt.reply(w) }
			p := newTestProvider(t, sts.srv.URL, "")
			_, err := p.Issue(t.Context(), aliceRequest())
			var ue *vend.UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want *vend.UpstreamError", err, err)
			}
			got := *ue
			got.Err = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("UpstreamError (-want +got):\n%s", diff)
			}
			if ue.Err == nil {
				t.Error("UpstreamError.Err is nil; logs need the cause")
			}
			for _, secret := range []string{"123456789012", fakeSecret, fakeToken, "signer-secret"} {
				if strings.Contains(ue.Reason, secret) || strings.Contains(err.Error(), secret) {
					t.Errorf("error shown to clients contains %q: %v", secret, err)
				}
			}
		})
	}
}

func TestIssueUnreachable(t *testing.T) {
	sts := newFakeSTS(t, testNow)
	url := sts.srv.URL
	sts.srv.Close()
	p := newTestProvider(t, url, "")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err := p.Issue(ctx, aliceRequest())
	var ue *vend.UpstreamError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want *vend.UpstreamError", err, err)
	}
	if ue.Reason != "STS unreachable" || ue.Status != 0 {
		t.Errorf("UpstreamError = %+v, want Reason %q and no status", ue, "STS unreachable")
	}
}

func TestIssueCallerGone(t *testing.T) {
	sts := newFakeSTS(t, testNow.Add(time.Hour))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	sts.reply = func(w http.ResponseWriter, _ url.Values) { <-release }
	p := newTestProvider(t, sts.srv.URL, "")
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.Issue(ctx, aliceRequest())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var ue *vend.UpstreamError
	if errors.As(err, &ue) {
		t.Errorf("a caller that went away is not an upstream failure: %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"arn:aws:iam::123456789012:role/x denied", "<arn> denied"},
		{"arn:aws-us-gov:iam::123456789012:role/x", "<arn>"},
		{"role arn:minio:iam:::role/idmp-x not found", "role <arn> not found"},
		{`"arn:aws:sts::123456789012:assumed-role/r/s"`, `"<arn>"`},
		{"account 123456789012.", "account <account>."},
		{"request 1234567890123 is not an account", "request 1234567890123 is not an account"},
		{"nothing to hide", "nothing to hide"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
