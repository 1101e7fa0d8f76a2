package gcs

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
			name: "invalid_grant",
			reply: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusBadRequest, oauthError{Code: "invalid_grant", Description: "The subject token is expired."})
			},
			want: vend.UpstreamError{Upstream: "gcs-sts", Status: 400, Code: "invalid_grant", Reason: "The subject token is expired."},
		},
		{
			name: "invalid_request echoing the subject token",
			reply: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusBadRequest, oauthError{Code: "invalid_request",
					Description: "Token " + rootToken + " cannot carry\nan access boundary."})
			},
			want: vend.UpstreamError{Upstream: "gcs-sts", Status: 400, Code: "invalid_request",
				Reason: "Token <token> cannot carry an access boundary."},
		},
		{
			name: "forbidden",
			reply: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusForbidden, oauthError{Code: "access_denied", Description: "The caller does not have permission"})
			},
			want: vend.UpstreamError{Upstream: "gcs-sts", Status: 403, Code: "access_denied", Reason: "The caller does not have permission"},
		},
		{
			name: "not STS at all",
			reply: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, "<html>proxy says no</html>")
			},
			want: vend.UpstreamError{Upstream: "gcs-sts", Status: 502, Reason: "Google STS answered HTTP 502"},
		},
		{
			name:  "200 that is not a token",
			reply: func(w http.ResponseWriter) { fmt.Fprint(w, "<html>captive portal</html>") },
			want:  vend.UpstreamError{Upstream: "gcs-sts", Status: 200, Reason: "Google STS answered with something that is not a token"},
		},
		{
			name: "already expired",
			reply: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusOK, map[string]any{"access_token": "x", "expires_in": 30})
			},
			want: vend.UpstreamError{Upstream: "gcs-sts", Reason: "Google STS returned a token that is already expired (clock skew?)"},
		},
		{
			name:  "answer too large",
			reply: func(w http.ResponseWriter) { fmt.Fprint(w, strings.Repeat(" ", maxAnswer+10)) },
			want:  vend.UpstreamError{Upstream: "gcs-sts", Status: 200, Reason: "Google STS sent an unreadable answer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t)
			sts.reply = func(w http.ResponseWriter, _ url.Values) { tt.reply(w) }
			_, err := newTestProvider(t, sts).Issue(t.Context(), aliceRequest())
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
			if strings.Contains(err.Error(), rootToken) {
				t.Errorf("error shown to clients contains the root token: %v", err)
			}
		})
	}
}

func TestIssueUnreachable(t *testing.T) {
	sts := newFakeSTS(t)
	p := newTestProvider(t, sts)
	sts.srv.Close()
	_, err := p.Issue(t.Context(), aliceRequest())
	var ue *vend.UpstreamError
	if !errors.As(err, &ue) || ue.Reason != "Google STS unreachable" || ue.Status != 0 {
		t.Fatalf("err = %#v, want an UpstreamError saying Google STS is unreachable", err)
	}
}

// TestIssueCallerGone: downscope posts without a context; the exchange
// must still stop when the caller goes away, and say so.
func TestIssueCallerGone(t *testing.T) {
	sts := newFakeSTS(t)
	release := make(chan struct{})
	sts.reply = func(w http.ResponseWriter, _ url.Values) { <-release }
	t.Cleanup(func() { close(release) })
	p := newTestProvider(t, sts)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	begin := time.Now()
	_, err := p.Issue(ctx, aliceRequest())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var ue *vend.UpstreamError
	if errors.As(err, &ue) {
		t.Errorf("a caller that went away is not an upstream failure: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Issue returned after %v: the exchange ignored the cancellation", d)
	}
}

func TestSafeReason(t *testing.T) {
	long := strings.Repeat("é", 200)
	tests := []struct{ in, secret, want string }{
		{"plain", "", "plain"},
		{"two\nlines\r\n and\ttabs\x00", "", "two lines and tabs"},
		{"has s3cret inside", "s3cret", "has <token> inside"},
		{long, "", strings.Repeat("é", maxReason/2) + "…"},
	}
	for _, tt := range tests {
		if got := safeReason(tt.in, tt.secret); got != tt.want {
			t.Errorf("safeReason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
