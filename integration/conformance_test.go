package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/credserver/credserver/internal/testenv/stack"
)

// specPath is the REST contract, relative to this package.
const specPath = "../api/openapi.yaml"

// minRecorded is the fewest responses a full run (no -run filter) must
// record: the shared-stack tests alone serve well over a thousand, so fewer
// means the recording broke, not that the spec holds.
const minRecorded = 50

// recorded collects every response the in-process credservers of this run
// serve (the shared stack's and TestHubService's); TestMain checks them all
// against api/openapi.yaml after the tests.
var recorded = &recorder{}

// exchange is one served response and the request it answered.
type exchange struct {
	req    *http.Request // method, URL and headers; no body
	status int
	header http.Header
	body   []byte
}

type recorder struct {
	mu sync.Mutex
	ex []exchange
}

// wrap is a stack.Options.Wrap that records what next serves.
func (r *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		cw := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(cw, req)
		clone := req.Clone(context.Background())
		clone.Body = http.NoBody
		status := cw.status
		if status == 0 {
			status = http.StatusOK
		}
		r.mu.Lock()
		r.ex = append(r.ex, exchange{req: clone, status: status, header: w.Header().Clone(), body: cw.buf.Bytes()})
		r.mu.Unlock()
	})
}

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ex)
}

// captureWriter tees the status and body on their way to the client.
type captureWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.buf.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// checkConformance validates every recorded response against the spec and
// returns the exit status to add to the run's: 1 on any departure, or when
// a full run recorded too little to mean anything. It writes a summary to w.
func checkConformance(w io.Writer) int {
	ex := recorded.exchanges()
	if len(ex) == 0 && shared == nil {
		return 0 // the stack never started: every integration test skipped
	}
	// A full run must have recorded plenty; a -run filter may pick tests
	// that only drive the credserver binary, which is not recorded.
	full := flag.Lookup("test.run") == nil || flag.Lookup("test.run").Value.String() == ""
	if want := map[bool]int{true: minRecorded, false: 0}[full]; len(ex) < want {
		fmt.Fprintf(w, "openapi conformance: only %d responses recorded, want at least %d: is stack.Options.Wrap still applied?\n", len(ex), want)
		return 1
	}
	spec, err := newSpec(stack.BasePath)
	if err != nil {
		fmt.Fprintf(w, "openapi conformance: %v\n", err)
		return 1
	}
	violations := map[string]int{}
	pairs := map[string]int{}
	for _, e := range ex {
		op, err := spec.check(e)
		pairs[fmt.Sprintf("%s %d", op, e.status)]++
		if err != nil {
			violations[fmt.Sprintf("%s %s -> %d: %v\n    body: %.300s", e.req.Method, e.req.URL.Path, e.status, err, e.body)]++
		}
	}
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(violations) == 0 {
		fmt.Fprintf(w, "openapi conformance: %d responses, all valid against %s (%s)\n", len(ex), specPath, strings.Join(keys, ", "))
		return 0
	}
	fmt.Fprintf(w, "openapi conformance: %d kinds of response depart from %s:\n", len(violations), specPath)
	msgs := make([]string, 0, len(violations))
	for m := range violations {
		msgs = append(msgs, m)
	}
	sort.Strings(msgs)
	for _, m := range msgs {
		fmt.Fprintf(w, "  (%d×) %s\n", violations[m], m)
	}
	return 1
}

// apiSpec mirrors internal/server/openapi_test.go's checker (test code of
// another package cannot be imported).
type apiSpec struct {
	doc    *openapi3.T
	router routers.Router
	base   string
}

func newSpec(base string) (*apiSpec, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", specPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", specPath, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &apiSpec{doc: doc, router: router, base: base}, nil
}

// check validates one exchange and names the operation it matched.
func (s *apiSpec) check(e exchange) (string, error) {
	r := e.req.Clone(context.Background())
	if r.URL.Path == s.base {
		r.URL.Path, r.URL.RawPath = s.base+"/", ""
	}
	route, params, err := s.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return "(no route)", s.checkError(http.StatusNotFound, e)
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return "(no method)", s.checkError(http.StatusMethodNotAllowed, e)
	case err != nil:
		return "(error)", err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 e.status,
		Header:                 e.header,
		Body:                   io.NopCloser(bytes.NewReader(e.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return route.Operation.OperationID, openapi3filter.ValidateResponse(context.Background(), in)
}

// checkError checks an answer to a path or method the spec does not list.
func (s *apiSpec) checkError(want int, e exchange) error {
	if e.status != want && e.status != http.StatusRequestEntityTooLarge {
		return fmt.Errorf("status %d for a path or method the spec does not list (want %d)", e.status, want)
	}
	if got := e.header.Get("Cache-Control"); got != "no-store" {
		return fmt.Errorf("Cache-Control = %q, want no-store", got)
	}
	var v any
	if err := jsonNumberDecode(e.body, &v); err != nil {
		return fmt.Errorf("error body is not JSON: %w", err)
	}
	return s.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.MultiErrors())
}

func jsonNumberDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
