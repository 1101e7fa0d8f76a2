package azure

import (
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/vend"
)

// fakeAzure answers Create Container (PUT /{account}/{container}?restype=container)
// the way the Blob service does: 201, or an XML error with x-ms-error-code.
type fakeAzure struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	paths []string
	auth  []string
	// reply answers one creation; nil means 201 Created.
	reply func(w http.ResponseWriter)
}

func newFakeAzure(t *testing.T) *fakeAzure {
	f := &fakeAzure{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAzure) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Query().Get("restype") != "container" {
		f.t.Errorf("fake Azure: unhandled %s %s", r.Method, r.URL)
		writeAzureError(w, http.StatusNotImplemented, "NotImplementedByTheFake")
		return
	}
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	reply := f.reply
	f.mu.Unlock()
	if reply != nil {
		reply(w)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (f *fakeAzure) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.paths)
}

func writeAzureError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>details
RequestId:0000 Time:2025-03-01T12:00:00Z</Message></Error>`, code)
}

func createRequest() policy.Decision {
	return policy.Decision{Grant: "blob-scratch", Access: policy.AccessReadWrite, Duration: time.Hour,
		Bucket: "scratch-alice", Prefixes: []string{""}, Create: true}
}

// TestCreateOnce: the container is created with the account key on first
// use and never again by this process, whatever the access asked.
func TestCreateOnce(t *testing.T) {
	azure := newFakeAzure(t)
	p := newTestProvider(t, Config{BlobEndpoint: azure.srv.URL + "/hubdata"})
	for _, access := range []policy.Access{policy.AccessReadWrite, policy.AccessRead, policy.AccessReadWrite} {
		req := createRequest()
		req.Access = access
		if _, err := p.Issue(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	req := createRequest()
	req.Create = false
	req.Bucket = "shared-data"
	if _, err := p.Issue(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/hubdata/scratch-alice"}, azure.paths); diff != "" {
		t.Errorf("containers created (-want +got):\n%s", diff)
	}
	if auth := azure.auth[0]; !strings.HasPrefix(auth, "SharedKey hubdata:") {
		t.Errorf("Authorization = %q, want a SharedKey signature by the account", auth)
	}
}

func TestCreateErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter)
		want  *vend.UpstreamError // nil: the SAS is issued
	}{
		{"already exists", func(w http.ResponseWriter) { writeAzureError(w, http.StatusConflict, "ContainerAlreadyExists") }, nil},
		{"being deleted", func(w http.ResponseWriter) { writeAzureError(w, http.StatusConflict, "ContainerBeingDeleted") },
			&vend.UpstreamError{Upstream: "azure", Status: 409, Code: "ContainerBeingDeleted",
				Reason: `could not create container "scratch-alice" (ContainerBeingDeleted)`}},
		{"key refused", func(w http.ResponseWriter) { writeAzureError(w, http.StatusForbidden, "AuthenticationFailed") },
			&vend.UpstreamError{Upstream: "azure", Status: 403, Code: "AuthenticationFailed",
				Reason: `could not create container "scratch-alice" (AuthenticationFailed)`}},
		{"no error code", func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) },
			&vend.UpstreamError{Upstream: "azure", Status: 403,
				Reason: `could not create container "scratch-alice" (HTTP 403 Forbidden)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			azure := newFakeAzure(t)
			azure.reply = tt.reply
			p := newTestProvider(t, Config{BlobEndpoint: azure.srv.URL + "/hubdata"})
			cred, err := p.Issue(t.Context(), createRequest())
			if tt.want == nil {
				if err != nil || cred == nil {
					t.Fatalf("Issue = %v, %v; want a SAS", cred, err)
				}
				return
			}
			var ue *vend.UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want *vend.UpstreamError", err, err)
			}
			got := *ue
			got.Err = nil
			if diff := cmp.Diff(*tt.want, got); diff != "" {
				t.Errorf("UpstreamError (-want +got):\n%s", diff)
			}
			if ue.Err == nil {
				t.Error("UpstreamError.Err is nil; logs need the cause")
			}
			// A failed creation is tried again by the next request.
			azure.mu.Lock()
			azure.reply = nil
			azure.mu.Unlock()
			if _, err := p.Issue(t.Context(), createRequest()); err != nil {
				t.Fatalf("retry after the failure: %v", err)
			}
		})
	}
}

func TestCreateUnreachable(t *testing.T) {
	azure := newFakeAzure(t)
	p := newTestProvider(t, Config{BlobEndpoint: azure.srv.URL + "/hubdata"})
	azure.srv.Close()
	_, err := p.Issue(t.Context(), createRequest())
	var ue *vend.UpstreamError
	if !errors.As(err, &ue) || ue.Reason != "Azure Blob Storage unreachable" || ue.Status != 0 {
		t.Fatalf("err = %#v, want an UpstreamError saying Azure is unreachable", err)
	}
}
