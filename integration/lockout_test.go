package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/testenv/peers"
)

// TestNoLockoutBehindTheProxy: every request goes through the hub's real
// configurable-http-proxy, so credserver sees one client address for all.
// 100 token-less requests and 100 bad tokens from a stranger there must not
// keep a user credserver has never seen from getting 200 on the first try,
// while the guesser gets 429 once its budget (the default limits) is spent
// and most of its guesses never reach the hub.
func TestNoLockoutBehindTheProxy(t *testing.T) {
	peers.Require(t, "jupyterhub", "configurable-http-proxy", "minio")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	minio := startMinIOIn(ctx, t, dir, 0o700, nil, "hub-scratch")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := serve(t, ln)
	snippet, err := os.ReadFile(hubSnippet)
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("import os\nos.environ[%q] = %q\n\n%s", "CREDSERVER_URL", "http://"+ln.Addr().String(), snippet)
	hub, err := peers.StartHub(ctx, peers.HubOptions{Dir: filepath.Join(dir, "hub"), Proxy: true, BareRoles: true, ExtraConfig: extra, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	hubCalls := &countingTransport{}
	limits := server.DefaultLimits // what app.Build uses for a config without limits
	handler.Store(buildCredserverWith(t, ln.Addr().String(), hub, minio, app.Options{
		HubClient: &http.Client{Transport: hubCalls, Timeout: 10 * time.Second},
		Limits:    &limits,
	}))
	base := hub.URL + "/services/credserver"
	waitProxied(t, base+"/")

	const user = "newcomer"
	if err := hub.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	tok, err := hub.Token(ctx, user)
	if err != nil {
		t.Fatal(err)
	}

	for i := range 100 {
		if r := call(t, base+"/v1/credentials/scratch", ""); r.Status != 401 || errCode(r) != "missing_token" {
			t.Fatalf("token-less request %d through the proxy = %d %s", i, r.Status, r.Raw)
		}
	}
	if n := hubCalls.Count(); n != 0 {
		t.Errorf("token-less requests made %d hub calls", n)
	}

	// The stranger guesses 100 tokens, 20 at a time.
	start := time.Now()
	codes := make(chan int, 100)
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				r, err := tryCall(base+"/v1/credentials/scratch", fmt.Sprintf("token guess%02d%02d%s", w, i, randomToken(t)[:24]))
				if err != nil {
					t.Errorf("guess: %v", err)
					return
				}
				codes <- r.Status
			}
		}()
	}
	wg.Wait()
	spent := time.Now() // the budget is empty from here on, and refills
	close(codes)
	elapsed := time.Since(start)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	t.Logf("100 guesses in %s: %v; %d hub calls", elapsed.Round(time.Millisecond), count, hubCalls.Count())
	if count[401]+count[429] != 100 {
		t.Errorf("guesses answered %v, want only 401 and 429", count)
	}
	if count[401] < limits.AuthFailureBurst {
		t.Errorf("%d guesses answered 401, want the whole budget (%d)", count[401], limits.AuthFailureBurst)
	}
	if count[429] == 0 {
		t.Errorf("no guess got 429: the budget does not hold")
	}
	// Hub calls: the budget, its refill while the guesses ran, and the
	// overflow lane's few slots.
	secs := int64(elapsed.Seconds()) + 1
	if n, most := hubCalls.Count(), int64(limits.AuthFailureBurst)+secs*int64(limits.AuthFailureRate)+3*secs; n > most {
		t.Errorf("guesses made %d hub calls, want at most %d", n, most)
	}

	// The guesser goes on, one guess at a time: 429, except for the budget
	// refilling (AuthFailureRate a second).
	start = time.Now()
	more := map[int]int{}
	for range 10 {
		r := call(t, base+"/v1/whoami", "token guess-after-"+randomToken(t)[:24])
		more[r.Status]++
		if r.Status == 429 && r.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	// The refill counts from the end of the first run (the checks between
	// the two take time too), plus the unit that was partly refilled then.
	refill := int(time.Since(spent).Seconds()*float64(limits.AuthFailureRate)) + 2
	t.Logf("10 more guesses one at a time in %s: %v", time.Since(start).Round(time.Millisecond), more)
	if more[401] > refill || more[401]+more[429] != 10 {
		t.Errorf("10 more guesses answered %v, want 429 but for at most %d refilled 401s", more, refill)
	}
	// A user credserver has never seen, behind the same proxy address: 200
	// at the first try.
	before := hubCalls.Count()
	if r := call(t, base+"/v1/credentials/scratch", "token "+tok); r.Status != 200 {
		t.Errorf("new user's first request after the stranger = %d %s, want 200", r.Status, r.Raw)
	}
	if n := hubCalls.Count() - before; n != 1 {
		t.Errorf("the new user's first request made %d hub calls, want 1", n)
	}
}
