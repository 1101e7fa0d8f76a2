package main

import (
	"context"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/testenv/stack"
	"github.com/credserver/credserver/internal/vend/awssts"
)

func runHTTP(o options) error {
	dir, err := os.MkdirTemp("", "credserver-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	names := make([]string, o.users)
	for i := range names {
		names[i] = fmt.Sprintf("user%04d", i)
	}
	fmt.Printf("starting JupyterHub, MinIO and credserver with %d hub users…\n", o.users)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// As in production: audit lines appended to a file, logs at info.
	auditFile, err := os.OpenFile(filepath.Join(dir, "audit.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer auditFile.Close()
	info := slog.LevelInfo
	s, err := stack.Start(ctx, stack.Options{Dir: dir, Users: names, Buckets: []string{"hub-scratch", "hub-shared"},
		Limits: &server.Limits{}, AuditTo: auditFile, LogLevel: &info, Config: benchConfig})
	if err != nil {
		return err
	}
	defer s.Close()
	path := stack.BasePath + "/v1/credentials/scratch"
	credURL := s.URL + "/v1/credentials/scratch"

	var body []byte
	tokens := make([]string, 0, len(names))
	for _, u := range names {
		b, err := get(credURL, s.Tokens[u])
		if err != nil {
			return fmt.Errorf("warm-up for %s: %w", u, err)
		}
		body = b
		tokens = append(tokens, s.Tokens[u])
	}
	bareURL, stopBare, err := startBare(body)
	if err != nil {
		return err
	}
	defer stopBare()
	script, err := writeScript(dir, path, tokens)
	if err != nil {
		return err
	}

	fmt.Printf("\n== warm throughput: wrk -t%d -c%d -d%s, %d distinct users, body %d bytes (hub.cache_ttl 10m, audit to a file)\n",
		o.threads, o.connections, o.duration, len(tokens), len(body))
	var best = map[string]wrkResult{}
	for round := 1; round <= 3; round++ {
		for _, target := range []struct{ name, url string }{{"credserver", s.URL[:len(s.URL)-len(stack.BasePath)] + path}, {"bare", bareURL + path}} {
			r, err := runWrk(o, script, target.url)
			if err != nil {
				return err
			}
			fmt.Printf("  round %d  %-10s %9.0f req/s  p50 %-9s p99 %-9s %s\n", round, target.name, r.RPS, r.P50, r.P99, r.Errors)
			if r.RPS > best[target.name].RPS {
				best[target.name] = r
			}
		}
	}
	c, b := best["credserver"], best["bare"]
	fmt.Printf("  best: credserver %.0f req/s, bare %.0f req/s → ratio %.2f (target ≥ 0.75)\n", c.RPS, b.RPS, c.RPS/b.RPS)

	rate := c.RPS / 2
	fmt.Printf("\n== latency at half of credserver's peak (%.0f req/s, open loop, %s)\n", rate, o.duration)
	var p99 [2]time.Duration
	for i, target := range []struct{ name, url string }{{"credserver", credURL}, {"bare", bareURL + path}} {
		p, err := paced(target.url, tokens, rate, o.duration)
		if err != nil {
			return err
		}
		p99[i] = p.p99
		fmt.Printf("  %-10s sent %6d  errors %d  p50 %-9s p99 %s\n", target.name, p.n, p.errors, p.p50, p.p99)
	}
	fmt.Printf("  p99 credserver − bare: %s (target ≤ 1ms)\n", p99[0]-p99[1])

	return coldPath(o, s, credURL, names)
}

// benchConfig is the stack's config with hub.cache_ttl at 10 minutes: the
// JupyterHub here shares the machine's two cores, and 200 identities
// re-validated in the middle of a measured run would measure the hub's CPU
// use, not credserver (in production the hub runs elsewhere).
var benchConfig = strings.Replace(stack.DefaultConfig, "  api_url: {{.HubAPI}}\n", "  api_url: {{.HubAPI}}\n  cache_ttl: 10m\n", 1)

func get(url, token string) ([]byte, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return b, err
}

// startBare serves body, with the same headers credserver sends, on a free
// port: the baseline of an HTTP server on this machine.
func startBare(body []byte) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// coldPath times credential requests that miss the credential cache
// interleaved with direct AssumeRole calls to the same MinIO carrying what
// credserver's carry (the same session policy, session name and source
// identity). Each cold request is a user whose identity the warm-up
// cached asking read access, which no one has asked yet: the cache keeps
// one credential per user, grant and access, so a new duration would not
// miss. The two alternate in which goes first, since the second of a pair
// finds MinIO (and the machine) warmer; what credserver adds is reported
// both as the difference of the medians and as the median of the paired
// differences.
func coldPath(o options, s *stack.Stack, credURL string, names []string) error {
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.MinIO.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(s.MinIO.RootUser, s.MinIO.RootPassword, ""),
	})
	n := min(o.cold, len(names))
	var viaServer, direct, added []time.Duration
	for i := range n {
		user := names[i]
		doc, err := awssts.SessionPolicy("hub-scratch", []string{user + "/"}, policy.AccessRead)
		if err != nil {
			return err
		}
		name := awssts.SessionName(user)
		viaCredserver := func() error {
			start := time.Now()
			if _, err := get(credURL+"?access=read", s.Tokens[user]); err != nil {
				return fmt.Errorf("cold request: %w", err)
			}
			viaServer = append(viaServer, time.Since(start))
			return nil
		}
		viaSTS := func() error {
			start := time.Now()
			if _, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
				RoleArn: aws.String("arn:aws:iam::000000000000:role/hub-users"), RoleSessionName: aws.String(name),
				SourceIdentity: aws.String(name), DurationSeconds: aws.Int32(3600), Policy: aws.String(string(doc)),
			}); err != nil {
				return fmt.Errorf("direct AssumeRole: %w", err)
			}
			direct = append(direct, time.Since(start))
			return nil
		}
		first, second := viaCredserver, viaSTS
		if i%2 == 1 {
			first, second = viaSTS, viaCredserver
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		added = append(added, viaServer[i]-direct[i])
	}
	ps, pd, pa := percentiles(viaServer), percentiles(direct), percentiles(added)
	fmt.Printf("\n== cold path: %d credential requests that each make an STS call, each paired with a direct AssumeRole call (order alternating)\n", n)
	fmt.Printf("  via credserver  p50 %-9s p90 %s\n", ps[0], ps[1])
	fmt.Printf("  direct STS      p50 %-9s p90 %s\n", pd[0], pd[1])
	fmt.Printf("  added by credserver at p50: %s; median of the paired differences: %s (target ≤ 0.3ms)\n", ps[0]-pd[0], pa[0])
	return nil
}

func percentiles(ds []time.Duration) [3]time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return [3]time.Duration{at(.5), at(.9), at(.99)}
}
