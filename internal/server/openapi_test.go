package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/public"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/credserver/credserver/internal/vend"
)

// specPath is the REST contract, relative to this package.
const specPath = "../../api/openapi.yaml"

// apiSpec validates served responses against api/openapi.yaml. The same
// checks run on every response the integration tests record
// (integration/conformance_test.go).
type apiSpec struct {
	doc    *openapi3.T
	router routers.Router
	base   string
}

func loadSpec(t testing.TB, base string) *apiSpec {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("load %s: %v", specPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", specPath, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route %s: %v", specPath, err)
	}
	return &apiSpec{doc: doc, router: router, base: base}
}

// check reports how one response departs from the spec, or nil. A status
// the operation does not list is a departure; so is a path or method the
// spec does not know answered with anything but the JSON error body.
func (s *apiSpec) check(req *http.Request, status int, header http.Header, body []byte) error {
	r := req.Clone(context.Background())
	if r.URL.Path == s.base {
		// The spec documents the root as {base}/; {base} is served alike.
		r.URL.Path, r.URL.RawPath = s.base+"/", ""
	}
	route, params, err := s.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return s.checkUnrouted(http.StatusNotFound, status, header, body)
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return s.checkUnrouted(http.StatusMethodNotAllowed, status, header, body)
	case err != nil:
		return fmt.Errorf("route %s %s: %w", r.Method, r.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkUnrouted checks an answer to a path or method the spec does not
// list: only the error body, with want (404 or 405) or the body limit's 413.
func (s *apiSpec) checkUnrouted(want, status int, header http.Header, body []byte) error {
	if status != want && status != http.StatusRequestEntityTooLarge {
		return fmt.Errorf("status %d for a path or method the spec does not list (want %d)", status, want)
	}
	if got := header.Get("Cache-Control"); got != "no-store" {
		return fmt.Errorf("Cache-Control = %q, want no-store", got)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v any
	if err := jsonUnmarshalNumber(body, &v); err != nil {
		return fmt.Errorf("error body is not JSON: %w", err)
	}
	return s.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.MultiErrors())
}

func jsonUnmarshalNumber(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// specScenario is one request whose answer is checked against the spec.
type specScenario struct {
	name   string
	method string
	target string
	authz  string
	body   string
	setup  func(*specFixture)
	deps   func(*Deps) // changes the server's collaborators
	repeat int         // requests sent before the one checked
	status int
	code   string // the error code expected; "" for success
}

// specFixture is newFixture's server with a real AWS provider (awssts
// against a fake STS) for successful credential bodies, and the fake
// provider for failures.
type specFixture struct {
	*fixture
	spec *apiSpec
}

const specBase = "/services/credserver"

func specScenarios(t *testing.T) []specScenario {
	const b = specBase
	alice, bob := "token tok-alice", "Bearer tok-bob"
	failWith := func(err error) func(*specFixture) {
		return func(f *specFixture) { f.srv.providers["s3"] = &fakeProvider{err: err} }
	}
	scenarios := []specScenario{
		{name: "root", target: b + "/", status: 200},
		{name: "root without slash", target: b, status: 200},
		{name: "healthz", target: "/healthz", status: 200},
		{name: "healthz under base", target: b + "/healthz", status: 200},
		{name: "readyz", target: "/readyz", status: 200},
		{name: "readyz under base", target: b + "/readyz", status: 200},
		{name: "not ready", target: "/readyz", status: 503, code: "not_ready",
			setup: func(f *specFixture) { f.srv.ready = func(context.Context) error { return errors.New("store closed") } }},
		{name: "metrics", target: "/metrics", status: 200},
		{name: "whoami alice", target: b + "/v1/whoami", authz: alice, status: 200},
		{name: "whoami bob, no groups", target: b + "/v1/whoami", authz: bob, status: 200},
		{name: "credentials", target: b + "/v1/credentials/scratch", authz: alice, status: 200},
		{name: "credentials read 2h", target: b + "/v1/credentials/scratch?access=read&duration=2h", authz: alice, status: 200},
		{name: "credentials whole bucket", target: b + "/v1/credentials/shared", authz: alice, status: 200},
		{name: "missing token", target: b + "/v1/credentials/scratch", status: 401, code: "missing_token"},
		{name: "invalid token", target: b + "/v1/whoami", authz: "token nope", status: 401, code: "invalid_token"},
		{name: "service token", target: b + "/v1/credentials/scratch", authz: "token tok-svc", status: 403, code: "forbidden"},
		{name: "token for another client", target: b + "/v1/credentials/scratch", authz: "token tok-other", status: 403, code: "token_not_for_credserver"},
		{name: "hub down", target: b + "/v1/whoami", authz: "token tok-down", status: 503, code: "hub_unavailable"},
		{name: "hub misconfigured", target: b + "/v1/credentials/scratch", authz: "token tok-404", status: 502, code: "hub_misconfigured"},
		{name: "unknown grant", target: b + "/v1/credentials/nope", authz: alice, status: 404, code: "unknown_grant"},
		{name: "not allowed", target: b + "/v1/credentials/shared", authz: bob, status: 403, code: "not_allowed"},
		{name: "bad access", target: b + "/v1/credentials/scratch?access=write", authz: alice, status: 400, code: "bad_request"},
		{name: "duration over max", target: b + "/v1/credentials/scratch?duration=13h", authz: alice, status: 400, code: "bad_request"},
		{name: "policy too large", target: b + "/v1/credentials/scratch", authz: alice, status: 400, code: "policy_too_large",
			setup: failWith(public.Wrap(vend.ErrPolicyTooLarge, "2300 bytes, the limit is 2048"))},
		{name: "sts refused", target: b + "/v1/credentials/scratch", authz: alice, status: 502, code: "upstream_error",
			setup: failWith(&vend.UpstreamError{Upstream: "sts", Status: 403, Code: "AccessDenied", Reason: "not authorized to perform sts:AssumeRole"})},
		{name: "internal", target: b + "/v1/credentials/scratch", authz: alice, status: 500, code: "internal",
			setup: failWith(errors.New("boom"))},
		{name: "user rate limited", target: b + "/v1/credentials/scratch", authz: alice, repeat: 1, status: 429, code: "rate_limited",
			deps: func(d *Deps) { d.Limits = &Limits{UserRate: 0.001, UserBurst: 1} }},
		{name: "auth failures rate limited", target: b + "/v1/whoami", authz: "token nope", repeat: 1, status: 429, code: "rate_limited",
			deps: func(d *Deps) { d.Limits = &Limits{AuthFailureRate: 0.001, AuthFailureBurst: 1} }},
		{name: "upstream timeout", target: b + "/v1/credentials/scratch", authz: alice, status: 504, code: "upstream_timeout",
			setup: failWith(fmt.Errorf("sts: %w", context.DeadlineExceeded))},
		{name: "client closed", target: b + "/v1/credentials/scratch", authz: alice, status: 499, code: "client_closed_request",
			setup: failWith(fmt.Errorf("sts: %w", context.Canceled))},
		{name: "audit trail unwritable", target: b + "/v1/credentials/scratch", authz: alice, status: 503, code: "audit_unavailable",
			deps: func(d *Deps) { d.Audit = failingWriter{} }},
		{name: "no such route", target: b + "/v2/nothing", status: 404, code: "not_found"},
		{name: "outside base path", target: "/v1/whoami", authz: alice, status: 404, code: "not_found"},
		{name: "method not allowed", method: "POST", target: b + "/v1/whoami", authz: alice, status: 405, code: "method_not_allowed"},
		{name: "body too large", method: "POST", target: b + "/v1/whoami", body: strings.Repeat("x", maxBodyBytes+1), status: 413, code: "body_too_large"},
	}
	scenarios = append(scenarios, delegationScenarios(t)...)
	return append(scenarios, githubScenarios(t)...)
}

func newSpecFixture(t *testing.T, sc specScenario) *specFixture {
	t.Helper()
	// Metrics on, as app.Build wires them, so /metrics and the
	// instrumentation middleware are part of what is checked.
	opts := []func(*Deps){func(d *Deps) { d.Metrics = NewMetrics() }}
	if sc.deps != nil {
		opts = append(opts, sc.deps)
	}
	f := &specFixture{fixture: newFixture(t, defaultAuth(), opts...), spec: loadSpec(t, specBase)}
	f.srv.providers["s3"] = newFakeSTSProvider(t)
	return f
}

// serve runs one scenario and returns the request and what was served.
func (f *specFixture) serve(t *testing.T, sc specScenario) (*http.Request, *httpResponse) {
	t.Helper()
	if sc.setup != nil {
		sc.setup(f)
	}
	method := sc.method
	if method == "" {
		method = http.MethodGet
	}
	var resp *httpResponse
	var req *http.Request
	for range sc.repeat + 1 {
		var body io.Reader
		if sc.body != "" {
			body = strings.NewReader(sc.body)
		}
		var err error
		req, err = http.NewRequest(method, "http://credserver.test"+sc.target, body)
		if err != nil {
			t.Fatal(err)
		}
		if sc.authz != "" {
			req.Header.Set("Authorization", sc.authz)
		}
		resp = record(f.srv.Handler(), req)
	}
	return req, resp
}

// TestOpenAPIConformance serves every scenario (each success body and each
// error code the package can emit) and validates the answer against
// api/openapi.yaml: status listed for the operation, headers, body schema.
func TestOpenAPIConformance(t *testing.T) {
	for _, sc := range specScenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			f := newSpecFixture(t, sc)
			req, resp := f.serve(t, sc)
			if resp.status != sc.status {
				t.Fatalf("status = %d, want %d: %s", resp.status, sc.status, resp.body)
			}
			if got := errorCode(resp.body); got != sc.code {
				t.Fatalf("error code = %q, want %q: %s", got, sc.code, resp.body)
			}
			if err := f.spec.check(req, resp.status, resp.header, resp.body); err != nil {
				t.Errorf("response departs from api/openapi.yaml:\n%v\nbody: %s", err, resp.body)
			}
		})
	}
}
