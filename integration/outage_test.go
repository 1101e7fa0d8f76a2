package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/testenv/peers"
)

// outcome is one request of the load.
type outcome struct {
	start, end time.Time
	kind       string // "credentials" or "whoami"
	status     int
	code       string // error code, if any
	retryAfter string
	github     map[string]any // whoami's github object
	err        error
}

// TestPostgresRestartUnderLoad restarts the real PostgreSQL 15 under 20
// GitHub credential requests a second (each a cache miss: the fake clock
// moves on six hours before each) and 10 whoami a second of a linked user,
// once quickly and once
// held down for 4 s. While the database is down, requests that need it get
// only 503 store_unavailable with Retry-After, whoami never says the user
// is unlinked (status unknown instead), and /readyz fails; from one second
// after it is back, no request fails.
func TestPostgresRestartUnderLoad(t *testing.T) {
	peers.Require(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pg, err := peers.StartPostgres(ctx, peers.PostgresOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	dsn, pwFile, err := pg.ConfigDSN(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newGHEnvWith(t, func(text string) string {
		i := strings.Index(text, "  driver: sqlite\n  dsn: ")
		j := i + strings.Index(text[i:], "\n  encryption_key_file")
		return text[:i] + "  driver: postgres\n  dsn: '" + dsn + "'\n  password_file: " + pwFile + text[j:]
	})
	name := fmt.Sprintf("lin-%d", time.Now().UnixNano())
	if err := e.hub.Hub.CreateUser(ctx, name); err != nil {
		t.Fatal(err)
	}
	tok, err := e.hub.Hub.Token(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	e.linkAs(t, tok, "linus")

	client := &http.Client{Timeout: 20 * time.Second}
	send := func(kind, path string) (o outcome) {
		o = outcome{start: time.Now(), kind: kind}
		defer func() { o.end = time.Now() }()
		req, _ := http.NewRequest("GET", e.URL()+path, nil)
		req.Header.Set("Authorization", "token "+tok)
		resp, err := client.Do(req)
		if err != nil {
			o.err = err
			return o
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		o.status, o.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		var m struct {
			Error  struct{ Code string }
			GitHub map[string]any `json:"github"`
		}
		_ = json.Unmarshal(b, &m)
		o.code, o.github = m.Error.Code, m.GitHub
		return o
	}

	var mu sync.Mutex
	var results []outcome
	var wg sync.WaitGroup
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			// Six hours on, by the server's (fake) clock: the cached token
			// is too old to hand out, so every credential request reads the
			// link from the store, and every other one refreshes it at
			// (fake) GitHub in a store transaction.
			e.clock.Advance(6 * time.Hour)
			paths := []string{"/v1/credentials/github"}
			if i%2 == 0 {
				paths = append(paths, "/v1/whoami")
			}
			for _, p := range paths {
				kind := "credentials"
				if p == "/v1/whoami" {
					kind = "whoami"
				}
				wg.Go(func() {
					o := send(kind, p)
					mu.Lock()
					results = append(results, o)
					mu.Unlock()
				})
			}
		}
	}()

	ready := func() int {
		resp, err := client.Get("http://" + e.addr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var stops, ups []time.Time // when the database went down and was back
	var downReady []int        // /readyz while down
	begin := time.Now()
	time.Sleep(2 * time.Second)
	// A fast restart.
	stops = append(stops, time.Now())
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	downReady = append(downReady, ready())
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ups = append(ups, time.Now())
	t.Logf("fast restart: down for %s", ups[0].Sub(stops[0]).Round(time.Millisecond))
	time.Sleep(3 * time.Second)
	// Held down for 4 s.
	stops = append(stops, time.Now())
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	downReady = append(downReady, ready())
	time.Sleep(2 * time.Second)
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ups = append(ups, time.Now())
	t.Logf("held down: down for %s", ups[1].Sub(stops[1]).Round(time.Millisecond))
	time.Sleep(3 * time.Second)
	close(stop)
	<-loadDone
	wg.Wait()

	for i, code := range downReady {
		if code == http.StatusOK {
			t.Errorf("/readyz with the database down (outage %d): HTTP 200", i+1)
		}
	}
	if code := ready(); code != http.StatusOK {
		t.Errorf("/readyz after the restarts: HTTP %d", code)
	}
	// healthy: a request that ran wholly while the database was up —
	// before the first stop, or from one second after it was back until it
	// was stopped again — must succeed. (One still in flight when the
	// database is stopped may meet the outage.)
	healthy := func(o outcome) bool {
		next := append(stops[1:], time.Now().Add(time.Hour))
		if o.start.After(begin) && o.end.Before(stops[0]) {
			return true
		}
		for i, up := range ups {
			if !o.start.Before(up.Add(time.Second)) && o.end.Before(next[i]) {
				return true
			}
		}
		return false
	}
	var total, ok, unavailable, unknown, lateFailures, otherFailures int
	var heldDown503, afterUp int // afterUp: failures started once the database was up, within its first second
	for _, o := range results {
		total++
		if o.kind == "whoami" {
			gh := o.github
			switch {
			case o.status != 200:
				otherFailures++
				t.Errorf("whoami: HTTP %d %s (%v)", o.status, o.code, o.err)
			case gh == nil || gh["linked"] == false || gh["status"] == "unlinked":
				t.Errorf("whoami reported the linked user as unlinked: %v (at %s)", gh, o.start.Format(time.StampMilli))
			case gh["status"] == "unknown":
				unknown++
				if healthy(o) {
					lateFailures++
					t.Errorf("whoami status unknown at %s, while the database was up", o.start.Format(time.StampMilli))
				}
			case gh["linked"] != true || gh["status"] != "linked":
				t.Errorf("whoami github = %v", gh)
			}
			continue
		}
		switch {
		case o.status == 200:
			ok++
		case o.status == 503 && o.code == "store_unavailable" && o.retryAfter != "":
			unavailable++
			if o.start.After(stops[1]) && o.start.Before(ups[1]) {
				heldDown503++
			}
			for _, up := range ups {
				if !o.start.Before(up) && o.start.Before(up.Add(time.Second)) {
					afterUp++
				}
			}
			if healthy(o) {
				lateFailures++
				t.Errorf("credentials: 503 at %s (stops %v, ups %v), while the database was up (for a second at least)",
					o.start.Format(time.StampMilli), stamps(stops), stamps(ups))
			}
		default:
			otherFailures++
			t.Errorf("credentials: HTTP %d %q Retry-After %q err %v at %s; want 200 or 503 store_unavailable",
				o.status, o.code, o.retryAfter, o.err, o.start.Format(time.StampMilli))
		}
	}
	t.Logf("%d requests: %d credentials 200, %d 503 store_unavailable (%d while held down, %d started in the first second after a restart), %d whoami unknown, %d other failures, %d failures after recovery",
		total, ok, unavailable, heldDown503, afterUp, unknown, otherFailures, lateFailures)
	if heldDown503 == 0 || unknown == 0 {
		t.Errorf("the outage was not observed (%d 503s while held down, %d whoami unknown): the test proves nothing", heldDown503, unknown)
	}
	if ok < total/3 {
		t.Errorf("only %d of %d requests succeeded", ok, total)
	}
	if t.Failed() {
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(line, "store_unavailable") || strings.Contains(line, "refresh") {
				t.Log(line)
			}
		}
	}
	e.checkNoSecrets(t, "logs", e.logs.String())
	if strings.Contains(e.logs.String(), pg.Password) {
		t.Error("the logs quote the database password")
	}
}

func stamps(ts []time.Time) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Format(time.StampMilli))
	}
	return out
}
