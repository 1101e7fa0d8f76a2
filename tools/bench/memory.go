package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/credserver/credserver/internal/app"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/server"
)

// runSelf runs this program again with args, in a fresh process, so the
// memory figure is not inflated by the HTTP runs.
func runSelf(args ...string) error {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// runMemory caches n users' identities and credentials and reports the
// process's RSS and live heap. Creating 100,000 real JupyterHub users is
// not practical here, so the hub and STS are in-process fakes speaking
// their real wire formats (the hub's /user JSON, STS's AssumeRole XML);
// what is measured is credserver's caches. Session tokens are as long as
// MinIO's (1,144 bytes, measured against the real MinIO): the secret
// material itself is most of a cached credential.
func runMemory(n int) error {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "token ")
		id, ok := strings.CutPrefix(tok, "tok-")
		if !ok {
			http.Error(w, `{"status":403,"message":"Forbidden"}`, http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "user", "name": "user" + id, "admin": false,
			"groups": []string{"students", "course-101"}, "scopes": []string{"access:servers!user=user" + id, "access:services!service=credserver"}})
	}))
	defer hub.Close()
	stsFake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		secs, _ := strconv.Atoi(r.Form.Get("DurationSeconds"))
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
			`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>`+
			`<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::000000000000:assumed-role/hub/x</Arn>`+
			`<AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`,
			randText(20), randText(40), randText(minioSessionTokenLen), time.Now().Add(time.Duration(secs)*time.Second).UTC().Format(time.RFC3339))
	}))
	defer stsFake.Close()

	cfg, err := config.Parse([]byte(fmt.Sprintf(`hub:
  api_url: %s/hub/api
providers:
  s3:
    type: aws
    role_arn: arn:aws:iam::000000000000:role/hub
    sts_endpoint: %s
grants:
  - name: scratch
    provider: s3
    bucket: hub-scratch
    prefix: "{user}/"
    access: readwrite
    allow: {users: ["*"]}
`, hub.URL, stsFake.URL)))
	if err != nil {
		return err
	}
	srv, err := app.Build(context.Background(), cfg, app.Options{
		AWSCredentials: credentials.NewStaticCredentialsProvider("root", "rootsecret", ""),
		Limits:         &server.Limits{},
	})
	if err != nil {
		return err
	}
	h := srv.Handler()
	rss0, heap0 := memNow()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	// 32 concurrent clients fill the caches, as the issue measures RSS.
	const workers = 32
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				req := httptest.NewRequest("GET", "/v1/credentials/scratch", nil)
				req.Header.Set("Authorization", "token tok-"+strconv.Itoa(i))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					select {
					case errs <- fmt.Errorf("user %d: %d %s", i, rec.Code, rec.Body):
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	elapsed := time.Since(start)
	rss1, heap1 := memNow()
	// The caches live in srv; without this the collector could free them
	// before they are measured.
	runtime.KeepAlive(srv)
	if path := os.Getenv("CREDSERVER_BENCH_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	fmt.Printf("\n== memory: %d users' identities and credentials cached (%s to fill)\n", n, elapsed.Round(time.Millisecond))
	fmt.Printf("  RSS        %6.1f MiB (before filling: %.1f MiB) (target ≤ 100 MiB)\n", mib(rss1), mib(rss0))
	fmt.Printf("  live heap  %6.1f MiB (before: %.1f MiB) → %.0f bytes per cached user\n", mib(heap1), mib(heap0), float64(heap1-heap0)/float64(n))
	return nil
}

func memNow() (rss, heap uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			rss = kb << 10
		}
	}
	return rss, ms.HeapInuse
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// minioSessionTokenLen is the length of a real MinIO AssumeRole session
// token for a one-prefix scratch policy.
const minioSessionTokenLen = 1144

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
