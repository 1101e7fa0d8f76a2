package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credserver/credserver/internal/auth"
)

const credPath = "/services/credserver/v1/credentials/scratch"

func withMetrics(m *Metrics) func(*Deps) { return func(d *Deps) { d.Metrics = m } }

func TestMetricsOnOwnListener(t *testing.T) {
	f := newFixtureOpts(t, defaultAuth(), Options{ServeMetrics: false}, withMetrics(NewMetrics()))
	if rec := f.do("GET", "/metrics", nil); rec.Code != 404 {
		t.Errorf("/metrics on the API listener = %d, want 404 when metrics_listen is set", rec.Code)
	}
}

func TestMetricsAfterKnownTraffic(t *testing.T) {
	m := NewMetrics()
	m.IdentityCacheStats(func() (uint64, uint64, uint64) { return 7, 3, 2 })
	f := newFixture(t, defaultAuth(), withMetrics(m))
	alice := map[string]string{"Authorization": "token tok-alice"}
	f.do("GET", credPath, alice)                                            // miss
	f.do("GET", credPath, alice)                                            // hit
	f.do("GET", "/services/credserver/v1/credentials/no-such-grant", alice) // 404
	f.do("GET", credPath+"?duration=forever", alice)                        // 400
	f.do("GET", credPath, nil)                                              // 401
	f.do("GET", "/services/credserver/v1/whoami", alice)
	f.do("GET", "/random/scanner/path", nil)

	rec := f.do("GET", "/metrics", nil)
	if rec.Code != 200 {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`credserver_http_requests_total{code="200",route="/services/credserver/v1/credentials/{grant}"} 2`,
		`credserver_http_requests_total{code="404",route="/services/credserver/v1/credentials/{grant}"} 1`,
		`credserver_http_requests_total{code="401",route="/services/credserver/v1/credentials/{grant}"} 1`,
		`credserver_http_requests_total{code="200",route="/services/credserver/v1/whoami"} 1`,
		`credserver_http_requests_total{code="404",route="unmatched"} 1`,
		`credserver_credentials_issued_total{grant="scratch",provider="aws",result="issued"} 2`,
		`credserver_credentials_issued_total{grant="_unknown",provider="",result="denied"} 1`,
		`credserver_credentials_issued_total{grant="_invalid_request",provider="",result="denied"} 1`,
		`credserver_cache_requests_total{cache="credentials",result="hit"} 1`,
		`credserver_cache_requests_total{cache="credentials",result="miss"} 1`,
		`credserver_cache_requests_total{cache="identity",result="hit"} 7`,
		`credserver_cache_requests_total{cache="identity",result="coalesced"} 2`,
		`credserver_http_request_duration_seconds_count{route="/services/credserver/v1/credentials/{grant}"} 5`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "no-such-grant") || strings.Contains(body, "scanner") {
		t.Error("a client-chosen string became a label value")
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric lint: %s: %s", p.Metric, p.Text)
	}
}

func TestUserRateLimit(t *testing.T) {
	f := newFixture(t, defaultAuth(), func(d *Deps) { d.Limits = &Limits{UserRate: 0.1, UserBurst: 2} })
	alice := map[string]string{"Authorization": "token tok-alice"}
	for i := range 2 {
		if rec := f.do("GET", credPath, alice); rec.Code != 200 {
			t.Fatalf("request %d = %d", i, rec.Code)
		}
	}
	rec := f.do("GET", credPath, alice)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "10" || !strings.Contains(rec.Body.String(), `"rate_limited"`) {
		t.Errorf("third request = %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := f.do("GET", credPath, map[string]string{"Authorization": "token tok-bob"}); rec.Code != 200 {
		t.Errorf("bob is limited by alice's use: %d", rec.Code)
	}
	if !strings.Contains(f.audit.String(), `"code":"rate_limited"`) {
		t.Error("the refusal is not in the audit trail")
	}
}

// hangingAuth blocks like a hub that accepted the connection and never
// answers, until the caller's context ends.
type hangingAuth struct{}

func (hangingAuth) Authenticate(ctx context.Context, _ string) (auth.Identity, error) {
	<-ctx.Done()
	return auth.Identity{}, errorsJoin(auth.ErrHubUnavailable, ctx.Err())
}

func TestHungUpstreamHitsDeadline(t *testing.T) {
	f := newFixture(t, hangingAuth{}, func(d *Deps) { d.RequestTimeout = 50 * time.Millisecond })
	done := make(chan int, 1)
	go func() { done <- f.do("GET", credPath, map[string]string{"Authorization": "token tok-alice"}).Code }()
	select {
	case code := <-done:
		if code != 503 {
			t.Errorf("status = %d, want 503", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a hung hub held the request past its deadline")
	}
}

// TestRequestIDNotFromClient: the audit trail's request ids are made by the
// server; a client's X-Request-Id cannot forge or collide with them.
func TestRequestIDNotFromClient(t *testing.T) {
	f := newFixture(t, defaultAuth())
	rec := f.do("GET", credPath, map[string]string{"Authorization": "token tok-alice", "X-Request-Id": "forged-id"})
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	f.do("GET", credPath, map[string]string{"Authorization": "token tok-alice", "X-Request-Id": "forged-id"})
	audit := f.audit.String()
	if strings.Contains(audit, "forged-id") {
		t.Errorf("a client-supplied request id reached the audit trail:\n%s", audit)
	}
	ids := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(audit), "\n") {
		var ev auditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.RequestID == "" {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if ids[ev.RequestID] {
			t.Errorf("request id %q used twice", ev.RequestID)
		}
		ids[ev.RequestID] = true
	}
}

// The credentials route's fast path keeps the request's state out of the
// context: its error log line and its audit line must still carry the same
// server-made request id.
func TestCredentialErrorLogHasRequestID(t *testing.T) {
	f := newFixture(t, defaultAuth())
	if rec := f.do("GET", credPath, map[string]string{"Authorization": "token nobody-has-this"}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
	var ev auditEvent
	if err := json.Unmarshal(bytes.TrimSpace(f.audit.Bytes()), &ev); err != nil || ev.RequestID == "" {
		t.Fatalf("audit line %q: %v", f.audit.String(), err)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var l struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request failed" {
			found = true
			if l.RequestID != ev.RequestID {
				t.Errorf("error log line names request %q, the audit line %q", l.RequestID, ev.RequestID)
			}
		}
	}
	if !found {
		t.Errorf("no error log line:\n%s", f.logs.String())
	}
}

// An issued credential is counted under the provider type its grant has
// now, also when a reload gave the grant another one.
func TestCredentialIssuedFollowsProviderType(t *testing.T) {
	m := NewMetrics()
	m.credentialIssued("aws", "data")
	m.credentialIssued("aws", "data")
	m.credentialIssued("gcs", "data")
	m.credentialIssued("aws", "other")
	for _, tt := range []struct {
		provider, grant string
		want            float64
	}{{"aws", "data", 2}, {"gcs", "data", 1}, {"aws", "other", 1}} {
		if got := testutil.ToFloat64(m.issued.WithLabelValues(tt.provider, tt.grant, "issued")); got != tt.want {
			t.Errorf("%s/%s: %v issued, want %v", tt.provider, tt.grant, got, tt.want)
		}
	}
}
