// Command soak holds sustained load on credserver running against the real
// local stack (JupyterHub 3, MinIO) and reports errors, throughput and
// latency percentiles. Many distinct hub users ask for their scratch
// credentials over and over, as a hub full of notebooks and Dask workers
// would; the identity and credential caches are warm after the first round.
//
//	go run ./tools/soak -users 300 -workers 32 -duration 60s
//
// It exits non-zero if any request failed. Rate limits are off: the soak
// measures the serving path (limits have tests of their own).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/testenv/stack"
)

func main() {
	users := flag.Int("users", 300, "distinct hub users")
	workers := flag.Int("workers", 32, "concurrent clients")
	duration := flag.Duration("duration", 60*time.Second, "how long to hold the load")
	flag.Parse()
	if err := run(*users, *workers, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// counter counts round trips through a transport.
type counter struct{ n atomic.Int64 }

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func run(nUsers, workers int, duration time.Duration) error {
	dir, err := os.MkdirTemp("", "credserver-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	names := make([]string, nUsers)
	for i := range names {
		names[i] = fmt.Sprintf("user%04d", i)
	}
	hubCalls, stsCalls := &counter{}, &counter{}
	fmt.Printf("starting JupyterHub, MinIO and credserver; creating %d hub users…\n", nUsers)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// As in production: audit lines appended to a file, logs at info.
	auditFile, err := os.OpenFile(filepath.Join(dir, "audit.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer auditFile.Close()
	info := slog.LevelInfo
	s, err := stack.Start(ctx, stack.Options{
		Dir: dir, Users: names, Buckets: []string{"hub-scratch", "hub-shared"},
		HubClient: &http.Client{Transport: hubCalls, Timeout: 10 * time.Second},
		STSClient: &http.Client{Transport: stsCalls, Timeout: 30 * time.Second},
		Limits:    &server.Limits{}, AuditTo: auditFile, LogLevel: &info,
	})
	if err != nil {
		return err
	}
	defer s.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	get := func(user string) (time.Duration, error) {
		req, _ := http.NewRequest("GET", s.URL+"/v1/credentials/scratch", nil)
		req.Header.Set("Authorization", "token "+s.Tokens[user])
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start), nil
	}
	fmt.Println("warming the caches (one request per user)…")
	for _, u := range names {
		if _, err := get(u); err != nil {
			return fmt.Errorf("warm-up for %s: %w", u, err)
		}
	}
	hub0, sts0 := hubCalls.n.Load(), stsCalls.n.Load()

	fmt.Printf("holding load: %d workers, %d users, %s\n", workers, nUsers, duration)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	stop := time.Now().Add(duration)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(stop) {
				d, err := get(names[rand.IntN(len(names))])
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	total := int64(len(latencies)) + errs.Load()
	fmt.Printf("\nrequests   %d in %s (%.0f req/s)\n", total, duration, float64(total)/duration.Seconds())
	fmt.Printf("errors     %d\n", errs.Load())
	fmt.Printf("latency    p50 %s  p90 %s  p99 %s  max %s\n", pct(.50), pct(.90), pct(.99), pct(1))
	fmt.Printf("upstream   %d hub calls, %d STS calls during the run (caches warm)\n",
		hubCalls.n.Load()-hub0, stsCalls.n.Load()-sts0)
	if n := errs.Load(); n > 0 {
		return fmt.Errorf("%d requests failed (first: %v)", n, firstErr.Load())
	}
	return nil
}
