package gcs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/vend"
)

// fakeOAuth is Google's OAuth token endpoint for service accounts: a JWT
// bearer assertion (RFC 7523) signed with the key, answered with an access
// token or an RFC 6749 error.
type fakeOAuth struct {
	t   *testing.T
	srv *httptest.Server
	pub *rsa.PublicKey

	mu    sync.Mutex
	calls int
	fail  bool
}

const saEmail = "credserver@example-project.iam.gserviceaccount.com"

func (f *fakeOAuth) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		f.t.Errorf("fake OAuth: unhandled %s %s", r.Method, r.URL.Path)
		http.Error(w, "not implemented by the fake", http.StatusNotImplemented)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls++
	n, fail := f.calls, f.fail
	f.mu.Unlock()
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		f.t.Errorf("fake OAuth: grant_type = %q", g)
	}
	claims, err := f.verify(r.PostForm.Get("assertion"))
	if err != nil || fail {
		writeJSON(w, http.StatusBadRequest, oauthError{Code: "invalid_grant", Description: "Invalid JWT Signature."})
		return
	}
	want := map[string]any{"iss": saEmail, "scope": scope, "aud": f.srv.URL + "/token"}
	got := map[string]any{"iss": claims["iss"], "scope": claims["scope"], "aud": claims["aud"]}
	if diff := cmp.Diff(want, got); diff != "" {
		f.t.Errorf("fake OAuth: assertion claims (-want +got):\n%s", diff)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "sa-root-" + string(rune('0'+n)), "expires_in": 3599, "token_type": "Bearer"})
}

// verify checks the assertion's RS256 signature and returns its claims.
func (f *fakeOAuth) verify(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(raw, &claims)
}

// writeKeyFile writes a service-account key whose token_uri is the fake.
func writeKeyFile(t *testing.T, oauth *fakeOAuth) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	oauth.pub = &key.PublicKey
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "example-project", "private_key_id": "0123abcd",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": saEmail, "client_id": "1234567890", "token_uri": oauth.srv.URL + "/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKeyFileProvider(t *testing.T) (*Provider, *fakeSTS, *fakeOAuth) {
	t.Helper()
	sts := newFakeSTS(t)
	oauth := &fakeOAuth{t: t}
	oauth.srv = httptest.NewServer(http.HandlerFunc(oauth.serveHTTP))
	t.Cleanup(oauth.srv.Close)
	u, err := url.Parse(sts.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(t.Context(), Config{
		CredentialsFile: writeKeyFile(t, oauth),
		HTTPClient:      &http.Client{Transport: &googleTransport{t: t, sts: u}, Timeout: 5 * time.Second},
		Now:             func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, sts, oauth
}

// TestServiceAccountKey: the root token comes from the key file through
// the injected client, and is reused while it has more than 40 minutes
// left.
func TestServiceAccountKey(t *testing.T) {
	p, sts, oauth := newKeyFileProvider(t)
	for range 2 {
		if _, err := p.Issue(t.Context(), aliceRequest()); err != nil {
			t.Fatal(err)
		}
	}
	calls := sts.calls()
	if len(calls) != 2 {
		t.Fatalf("STS calls = %d, want 2", len(calls))
	}
	for i, form := range calls {
		if got := form.Get("subject_token"); got != "sa-root-1" {
			t.Errorf("exchange %d: subject_token = %q, want the service account's token", i, got)
		}
	}
	oauth.mu.Lock()
	defer oauth.mu.Unlock()
	if oauth.calls != 1 {
		t.Errorf("root token requests = %d, want 1 (reused)", oauth.calls)
	}
}

func TestServiceAccountKeyRefused(t *testing.T) {
	p, sts, oauth := newKeyFileProvider(t)
	oauth.mu.Lock()
	oauth.fail = true
	oauth.mu.Unlock()
	_, err := p.Issue(t.Context(), aliceRequest())
	var ue *vend.UpstreamError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want *vend.UpstreamError", err, err)
	}
	got := *ue
	got.Err = nil
	want := vend.UpstreamError{Upstream: "gcs-oauth", Status: 400, Code: "invalid_grant",
		Reason: "could not get credserver's own Google access token: Invalid JWT Signature."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpstreamError (-want +got):\n%s", diff)
	}
	if n := len(sts.calls()); n != 0 {
		t.Errorf("STS called %d times without a root token", n)
	}
}

func TestNewRejectsBadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	userCreds := filepath.Join(dir, "user.json")
	const secret = "refresh-secret-value"
	if err := os.WriteFile(userCreds, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"`+secret+`","refresh_token":"`+secret+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte(`{"private_key": "`+secret), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{userCreds, garbage, filepath.Join(dir, "missing.json")} {
		_, err := New(t.Context(), Config{CredentialsFile: file})
		if err == nil {
			t.Errorf("New(%s) succeeded", filepath.Base(file))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("New(%s) error quotes the file's secret: %v", filepath.Base(file), err)
		}
	}
}
