package fakegithub

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Endpoints, the keys of [Server.Count].
const (
	EndpointDeviceCode         = "device_code"
	EndpointDevicePoll         = "device_poll"
	EndpointRefresh            = "refresh"
	EndpointUser               = "user"
	EndpointInstallationLookup = "installation_lookup"
	EndpointInstallationToken  = "installation_token"
	EndpointInstallationRepos  = "installation_repositories"
	EndpointRevokeGrant        = "revoke_grant"
	EndpointRevokeToken        = "revoke_token"
)

// GitHub's documented lifetimes.
const (
	UserTokenLife         = 8 * time.Hour
	RefreshTokenLife      = 15811200 * time.Second // about six months
	InstallationTokenLife = time.Hour
	DeviceCodeLife        = 15 * time.Minute
	DefaultInterval       = 5 * time.Second
	// MaxJWTLife is how far in the future an App JWT's exp may be.
	MaxJWTLife = 10 * time.Minute
)

// Options configure a fake. The zero value is usable.
type Options struct {
	// ClientID and ClientSecret are the app's OAuth credentials; defaults
	// "Iv1.fakeclientid" and "fake-client-secret".
	ClientID, ClientSecret string
	// AppID is the app's id, the JWT issuer; default 4242.
	AppID int64
	// Clock is the fake's time; nil means a clock stopped at the current
	// time.
	Clock *Clock
	// Interval is the device-flow polling interval; default 5s.
	Interval time.Duration
	// PrivateKey is the app's key; nil generates one.
	PrivateKey *rsa.PrivateKey
	// TB, when set, fails the test on requests to unimplemented routes.
	TB testing.TB
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	opts  Options
	clock *Clock
	mux   *http.ServeMux
	srv   *httptest.Server

	mu                 sync.Mutex
	users              map[string]int64 // login → id
	devices            map[string]*device
	byUserCode         map[string]*device
	lastUserCode       string
	tokens             map[string]*token
	installations      map[int64]*Installation
	counts             map[string]int
	tokenRequests      []TokenRequest
	lastJWT            JWTClaims
	secrets            []string
	deviceFlowDisabled bool
	nonExpiring        bool
	nextID             int64
}

// New returns a fake that is not listening; serve it with ServeHTTP (for
// example behind a test's own front server) or use [Start].
func New(o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = "Iv1.fakeclientid"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "fake-client-secret"
	}
	if o.AppID == 0 {
		o.AppID = 4242
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Clock == nil {
		o.Clock = NewClock(time.Now())
	}
	if o.PrivateKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("fakegithub: " + err.Error())
		}
		o.PrivateKey = k
	}
	s := &Server{
		opts: o, clock: o.Clock, mux: http.NewServeMux(),
		users: map[string]int64{}, devices: map[string]*device{}, byUserCode: map[string]*device{},
		tokens: map[string]*token{}, installations: map[int64]*Installation{}, counts: map[string]int{},
		nextID: 1000,
	}
	s.secrets = append(s.secrets, string(s.PrivateKeyPEM()))
	s.routes()
	return s
}

// Start starts the fake on a loopback port, stopped by t.Cleanup; requests
// to unimplemented routes fail t.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	o.TB = t
	s := New(o)
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL of a fake made with Start: both web_url and api_url.
func (s *Server) URL() string { return s.srv.URL }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// ClientID and ClientSecret are the app's OAuth credentials.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret is the app's client secret.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// AppID is the app's id.
func (s *Server) AppID() int64 { return s.opts.AppID }

// PrivateKeyPEM is the app's private key, PKCS#1 PEM as GitHub hands it out.
func (s *Server) PrivateKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.opts.PrivateKey)})
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /login/device/code", s.deviceCode)
	m.HandleFunc("POST /login/oauth/access_token", s.accessToken)
	m.HandleFunc("GET /user", s.user)
	m.HandleFunc("GET /orgs/{org}/installation", s.lookupInstallation)
	m.HandleFunc("GET /users/{user}/installation", s.lookupInstallation)
	m.HandleFunc("GET /repos/{owner}/{repo}/installation", s.lookupInstallation)
	m.HandleFunc("POST /app/installations/{id}/access_tokens", s.installationToken)
	m.HandleFunc("GET /installation/repositories", s.installationRepos)
	m.HandleFunc("DELETE /applications/{client_id}/grant", s.revoke)
	m.HandleFunc("DELETE /applications/{client_id}/token", s.revoke)
	m.HandleFunc("/", s.unhandled)
}

// ServeHTTP serves the fake's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) unhandled(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	if s.opts.TB != nil {
		s.opts.TB.Errorf("fake GitHub: unhandled route %s", route)
	}
	writeJSON(w, http.StatusNotImplemented, map[string]string{"message": "fake GitHub does not implement " + route})
}

// count records a call; s.mu must be held.
func (s *Server) count(endpoint string) { s.counts[endpoint]++ }

// Count returns how many requests reached endpoint (an Endpoint* constant),
// successful or not.
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// Secrets returns every secret the fake has handed out or holds: tokens,
// refresh tokens, device codes and the private key. Tests search logs and
// files for them.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// SetDeviceFlowDisabled turns the app's device flow off or on.
func (s *Server) SetDeviceFlowDisabled(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deviceFlowDisabled = v
}

// SetNonExpiringTokens turns the app's user-token expiration off (true):
// new user tokens then come without expires_in and refresh token.
func (s *Server) SetNonExpiringTokens(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonExpiring = v
}

// AddUser registers a GitHub account and returns its id.
func (s *Server) AddUser(login string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUser(login)
}

func (s *Server) addUser(login string) int64 {
	if id, ok := s.users[login]; ok {
		return id
	}
	s.nextID++
	s.users[login] = s.nextID
	return s.nextID
}

// randomString returns prefix and n random characters from GitHub's token
// alphabet.
func randomString(prefix string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("fakegithub: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError writes GitHub's REST error shape.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// bearer returns the credential of an "Authorization: Bearer|token X" header.
func bearer(r *http.Request) string {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
		return ""
	}
	return strings.TrimSpace(cred)
}

// String names the fake in test output.
func (s *Server) String() string { return fmt.Sprintf("fake GitHub (app %d)", s.opts.AppID) }
