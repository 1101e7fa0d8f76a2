package awssts

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSTS speaks the STS query protocol: a form POST with
// Action=AssumeRole, answered with AssumeRoleResponse or ErrorResponse XML.
type fakeSTS struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []url.Values
	auth     []string
	// reply answers one AssumeRole call; nil means success with expiry.
	reply func(w http.ResponseWriter, form url.Values)
	// expiry is the Expiration of successful replies.
	expiry time.Time
}

const (
	fakeKeyID  = "ASIAFAKEKEYID0000001"
	fakeSecret = "fake-secret-access-key"
	fakeToken  = "fake-session-token"
)

func newFakeSTS(t *testing.T, expiry time.Time) *fakeSTS {
	f := &fakeSTS{t: t, expiry: expiry}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.PostForm.Get("Action") != "AssumeRole" {
		f.t.Errorf("fake STS: unhandled %s %s Action=%q", r.Method, r.URL.Path, r.PostForm.Get("Action"))
		http.Error(w, "not implemented by the fake", http.StatusNotImplemented)
		return
	}
	if v := r.PostForm.Get("Version"); v != "2011-06-15" {
		f.t.Errorf("fake STS: Version = %q", v)
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.PostForm)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	reply := f.reply
	f.mu.Unlock()
	if reply != nil {
		reply(w, r.PostForm)
		return
	}
	writeAssumeRole(w, form2arn(r.PostForm), f.expiry)
}

func form2arn(form url.Values) string {
	return "arn:aws:sts::123456789012:assumed-role/scratch/" + form.Get("RoleSessionName")
}

func (f *fakeSTS) calls() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.requests...)
}

func writeAssumeRole(w http.ResponseWriter, arn string, expiry time.Time) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAFAKE:x</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <PackedPolicySize>9</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>fake-request-id</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, xmlEscape(arn), fakeKeyID, fakeSecret, fakeToken, expiry.UTC().Format(time.RFC3339))
}

func writeSTSError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>fake-request-id</RequestId>
</ErrorResponse>`, code, xmlEscape(message))
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
