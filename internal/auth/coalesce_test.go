package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// gatedHub returns a fake hub whose user endpoint signals arrival on the
// returned channel and answers alice only once release is closed.
func gatedHub(t *testing.T) (f *fakeHub, arrived <-chan struct{}, release func()) {
	f = newFakeHub(t)
	arr := make(chan struct{}, 16)
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, _ int) {
		select { // never block: a broken Hub may send many requests
		case arr <- struct{}{}:
		default:
		}
		select {
		case <-gate:
			writeJSON(w, http.StatusOK, alice)
		case <-r.Context().Done():
		}
	})
	return f, arr, release
}

// waitFor polls cond until it holds or the test would hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCoalesceColdCache(t *testing.T) {
	f, _, release := gatedHub(t)
	h := newTestHub(t, f, HubConfig{})

	const callers = 1000
	ids := make([]Identity, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { ids[i], errs[i] = h.Authenticate(t.Context(), aliceToken) })
	}
	// Hold the hub until every caller has missed the cache.
	waitFor(t, "all callers to miss", func() bool { return h.Stats().Misses == callers })
	release()
	wg.Wait()

	want := Identity{Name: alice.Name, Groups: alice.Groups}
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if diff := cmp.Diff(want, ids[i]); diff != "" {
			t.Fatalf("caller %d identity (-want +got):\n%s", i, diff)
		}
	}
	if n := f.userCalls(); n != 1 {
		t.Errorf("hub requests = %d, want 1", n)
	}
	st := h.Stats()
	if st.UpstreamCalls != 1 || st.Coalesced == 0 || st.Coalesced >= callers {
		t.Errorf("Stats = %+v, want 1 upstream call and 1..%d coalesced", st, callers-1)
	}
}

func TestCoalesceCancelledFirstCaller(t *testing.T) {
	f, arrived, release := gatedHub(t)
	h := newTestHub(t, f, HubConfig{})

	firstCtx, cancelFirst := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := h.Authenticate(firstCtx, aliceToken)
		firstErr <- err
	}()
	<-arrived // the first caller's lookup is at the hub

	const others = 50
	ids := make([]Identity, others)
	errs := make([]error, others)
	var wg sync.WaitGroup
	for i := range others {
		wg.Go(func() { ids[i], errs[i] = h.Authenticate(t.Context(), aliceToken) })
	}
	waitFor(t, "the other callers to miss", func() bool { return h.Stats().Misses == others+1 })

	cancelFirst()
	select {
	case err := <-firstErr:
		if !errors.Is(err, ErrHubUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("first caller error = %v, want ErrHubUnavailable and Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled first caller is still waiting")
	}

	release()
	wg.Wait()
	for i := range others {
		if errs[i] != nil || ids[i].Name != "alice" {
			t.Errorf("caller %d: %+v, %v; want alice", i, ids[i], errs[i])
		}
	}
	if n := f.userCalls(); n != 1 {
		t.Errorf("hub requests = %d, want 1", n)
	}
}

// A caller can miss the cache just before another caller's lookup fills it
// and start its own lookup just after that one ends; the lookup must then
// find the cache filled instead of asking the hub a second time.
func TestLookupRechecksCache(t *testing.T) {
	f := newFakeHub(t)
	h := newTestHub(t, f, HubConfig{})
	key := tokenKey(sha256.Sum256([]byte(aliceToken)))
	h.cache.Add(key, h.entry(Identity{Name: "alice"}, nil, h.clock()+int64(time.Minute)))

	e := h.lookup(t.Context(), key, aliceToken)
	if e.err() != nil || e.name != "alice" {
		t.Errorf("lookup = %+v, want the cached alice", e)
	}
	if n := f.userCalls(); n != 0 {
		t.Errorf("hub requests = %d, want 0", n)
	}
}
