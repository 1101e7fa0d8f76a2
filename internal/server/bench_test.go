package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkCredentialsWarm is the whole warm request path through the
// router: header parsing, identity cache hit (fake authenticator), policy
// decision, credential cache hit, audit line (to a buffer), JSON body.
// Compare with BenchmarkBareHandler, which writes a body of the same size.
func BenchmarkCredentialsWarm(b *testing.B) {
	// Production settings (info-level logging, so no request log line;
	// metrics recorded) except the rate limits: one user asking in a tight
	// loop would be answered 429 after the first 2,000.
	f := newFixture(b, defaultAuth(), func(d *Deps) {
		d.Logger = slog.New(slog.DiscardHandler)
		d.Metrics = NewMetrics()
		d.Limits = &Limits{}
	})
	req := httptest.NewRequest("GET", credPath, nil)
	req.Header.Set("Authorization", "token tok-alice")
	if rec := f.do("GET", credPath, map[string]string{"Authorization": "token tok-alice"}); rec.Code != 200 {
		b.Fatalf("warm-up: %d", rec.Code)
	}
	h := f.srv.Handler()
	b.ReportAllocs()
	for b.Loop() {
		f.audit.Reset()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkBareHandler is the baseline: a net/http handler returning a
// body of the same size as a warm credentials response, same headers.
func BenchmarkBareHandler(b *testing.B) {
	f := newFixture(b, defaultAuth())
	body := f.do("GET", credPath, map[string]string{"Authorization": "token tok-alice"}).Body.Bytes()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	req := httptest.NewRequest("GET", credPath, nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
