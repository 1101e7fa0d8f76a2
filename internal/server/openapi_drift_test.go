package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/vend"
	"github.com/credserver/credserver/internal/vend/awssts"
)

// newFakeSTSProvider returns the real AWS provider talking to an httptest
// STS that answers every AssumeRole, so that credential bodies in the
// conformance test are the ones production code builds.
func newFakeSTSProvider(t *testing.T) vend.Provider {
	t.Helper()
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "AssumeRole" {
			http.Error(w, "fake STS handles only AssumeRole", http.StatusNotImplemented)
			return
		}
		secs, _ := strconv.Atoi(r.PostForm.Get("DurationSeconds"))
		exp := time.Now().Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/hub-users/x</Arn><AssumedRoleId>AROAFAKE:x</AssumedRoleId></AssumedRoleUser>
<Credentials><AccessKeyId>ASIAFAKE0000</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey><SessionToken>fake-token</SessionToken><Expiration>%s</Expiration></Credentials>
</AssumeRoleResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleResponse>`, exp)
	}))
	t.Cleanup(sts.Close)
	p, err := awssts.New(context.Background(), awssts.Config{
		Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/hub-users",
		STSEndpoint: sts.URL, S3Endpoint: "http://s3.example.test",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIGNER", "signer-secret", ""),
		HTTPClient:  sts.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// httpResponse is what a handler served.
type httpResponse struct {
	status int
	header http.Header
	body   []byte
}

func record(h http.Handler, req *http.Request) *httpResponse {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return &httpResponse{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
}

// errorCode returns the code of an error body, "" for anything else.
func errorCode(body []byte) string {
	var e errorBody
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// TestOpenAPIRejectsDrift proves the conformance check can fail: real
// responses, changed the way a handler edit would change them, are
// rejected, while the unchanged ones pass.
func TestOpenAPIRejectsDrift(t *testing.T) {
	byName := map[string]specScenario{}
	for _, sc := range specScenarios(t) {
		byName[sc.name] = sc
	}
	tests := []struct {
		scenario string
		edit     func(body map[string]any, hdr http.Header) int // returns the status to check
	}{
		{"whoami alice", func(b map[string]any, _ http.Header) int { rename(b, "user", "username"); return 200 }},
		{"whoami alice", func(b map[string]any, _ http.Header) int { b["groups"] = nil; return 200 }},
		{"whoami alice", func(b map[string]any, _ http.Header) int {
			rename(b["grants"].([]any)[0].(map[string]any), "max_duration", "maxDuration")
			return 200
		}},
		{"whoami alice", func(b map[string]any, _ http.Header) int { b["extra"] = true; return 200 }},
		{"credentials", func(b map[string]any, _ http.Header) int {
			rename(b["credentials"].(map[string]any), "access_key_id", "AccessKeyId")
			return 200
		}},
		{"credentials", func(b map[string]any, _ http.Header) int { rename(b, "url", "location"); return 200 }},
		{"credentials", func(b map[string]any, _ http.Header) int { b["expires_at"] = "tomorrow"; return 200 }},
		{"credentials", func(b map[string]any, _ http.Header) int { b["provider"] = "s3"; return 200 }},
		{"credentials", func(_ map[string]any, h http.Header) int { h.Del("Cache-Control"); return 200 }},
		{"credentials", func(map[string]any, http.Header) int { return http.StatusTeapot }},
		{"unknown grant", func(b map[string]any, _ http.Header) int {
			rename(b["error"].(map[string]any), "message", "msg")
			return 404
		}},
		{"unknown grant", func(b map[string]any, _ http.Header) int { b["code"] = "unknown_grant"; return 404 }},
		{"missing token", func(_ map[string]any, h http.Header) int { h.Del("WWW-Authenticate"); return 401 }},
		{"hub down", func(_ map[string]any, h http.Header) int { h.Del("Retry-After"); return 503 }},
		{"no such route", func(b map[string]any, _ http.Header) int { rename(b, "error", "err"); return 404 }},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", i, tt.scenario), func(t *testing.T) {
			sc := byName[tt.scenario]
			f := newSpecFixture(t, sc)
			req, resp := f.serve(t, sc)
			if err := f.spec.check(req, resp.status, resp.header, resp.body); err != nil {
				t.Fatalf("the unchanged response already fails: %v", err)
			}
			var body map[string]any
			if err := json.Unmarshal(resp.body, &body); err != nil {
				t.Fatal(err)
			}
			hdr := resp.header.Clone()
			status := tt.edit(body, hdr)
			changed, _ := json.Marshal(body)
			err := f.spec.check(req, status, hdr, changed)
			if err == nil {
				t.Fatalf("a changed response passed the spec: %d %s", status, changed)
			}
			t.Logf("rejected as it should be: %.200s", err)
		})
	}
}

func rename(m map[string]any, from, to string) {
	m[to] = m[from]
	delete(m, from)
}

// codeRE finds the error codes this package can emit in its source.
var codeRE = regexp.MustCompile(`Code\s*[:=]\s*"([a-z][a-z0-9_]*)"`)

// TestOpenAPIScenariosCoverEveryCode keeps the conformance scenarios
// complete: every error code the package's source can emit must have a
// scenario above, so a new error path is checked against the spec too.
func TestOpenAPIScenariosCoverEveryCode(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var emitted []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range codeRE.FindAllStringSubmatch(string(src), -1) {
			emitted = append(emitted, m[1])
		}
	}
	covered := map[string]bool{}
	for _, sc := range specScenarios(t) {
		covered[sc.code] = true
	}
	slices.Sort(emitted)
	emitted = slices.Compact(emitted)
	if len(emitted) < 10 {
		t.Fatalf("found only %d error codes in the source (%v): the pattern no longer matches", len(emitted), emitted)
	}
	for _, code := range emitted {
		if !covered[code] {
			t.Errorf("error code %q has no scenario in specScenarios (openapi_test.go)", code)
		}
	}
}
