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

// memCaseEnv selects, in a child process, which case of the memory figure
// it measures: "off" (rate limits off: the caches alone) or "default"
// (server.DefaultLimits, as production runs: a user who asked within the
// last burst/rate seconds also has a rate limiter). Unset: runMemory runs
// one child per case.
const memCaseEnv = "CREDSERVER_BENCH_MEMCASE"

// memProfileRateEnv, set to a number, is runtime.MemProfileRate in the
// children: 1 records every allocation, for an exact heap profile
// (CREDSERVER_BENCH_HEAPPROFILE) at the cost of a much slower fill.
const memProfileRateEnv = "CREDSERVER_BENCH_MEMPROFILERATE"

// runMemory reports the memory cost of n cached users, each case in a
// fresh process so that neither inflates the other's figures.
func runMemory(n int) error {
	limits := os.Getenv(memCaseEnv)
	if limits == "" {
		for _, c := range []string{"off", "default"} {
			cmd := exec.Command(os.Args[0], "-mode", "memory", "-memusers", strconv.Itoa(n))
			cmd.Env = append(os.Environ(), memCaseEnv+"="+c)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("memory, rate limits %s: %w", c, err)
			}
		}
		return nil
	}
	if v := os.Getenv(memProfileRateEnv); v != "" {
		r, err := strconv.Atoi(v)
		if err != nil || r < 1 {
			return fmt.Errorf("%s=%q: want a positive integer", memProfileRateEnv, v)
		}
		runtime.MemProfileRate = r
	}
	var lim *server.Limits
	switch limits {
	case "off":
		lim = &server.Limits{}
	case "default":
		l := server.DefaultLimits
		lim = &l
	default:
		return fmt.Errorf("%s=%q: want off or default", memCaseEnv, limits)
	}
	return measureMemory(n, limits, lim)
}

// measureMemory caches n users' identities and credentials and reports the
// process's live heap, heap in use and RSS. Creating 100,000 real
// JupyterHub users is not practical here, so the hub and STS are
// in-process fakes speaking their real wire formats (the hub's /user JSON,
// STS's AssumeRole XML); what is measured is credserver's caches. Session
// tokens are as long as MinIO's (1,144 bytes, measured against the real
// MinIO): the secret material itself is most of a cached credential.
func measureMemory(n int, limitsName string, limits *server.Limits) error {
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
		Limits:         limits,
	})
	if err != nil {
		return err
	}
	h := srv.Handler()
	m0 := memNow()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	// 32 concurrent clients fill the caches, as the issue measures RSS.
	// Each has its own address, as notebook servers do.
	const workers = 32
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := fmt.Sprintf("10.0.0.%d:40000", w+1)
			for i := w; i < n; i += workers {
				req := httptest.NewRequest("GET", "/v1/credentials/scratch", nil)
				req.RemoteAddr = addr
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
	m1 := memNow()
	// The caches live in srv; without this the collector could free them
	// before they are measured.
	runtime.KeepAlive(srv)
	if path := os.Getenv("CREDSERVER_BENCH_HEAPPROFILE"); path != "" {
		if limitsName != "off" {
			path += "." + limitsName
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	perUser := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(n) }
	fmt.Printf("\n== memory: %d users' identities and credentials cached, rate limits %s (%s to fill)\n",
		n, limitsName, elapsed.Round(time.Millisecond))
	fmt.Printf("  live heap    %6.1f MiB (before: %5.1f MiB) → %5.0f bytes per cached user (HeapAlloc after GC; target ≤ 1,700)\n",
		mib(m1.heapAlloc), mib(m0.heapAlloc), perUser(m1.heapAlloc, m0.heapAlloc))
	fmt.Printf("  heap in use  %6.1f MiB (before: %5.1f MiB) → %5.0f bytes per cached user (HeapInuse: adds free slots in spans)\n",
		mib(m1.heapInuse), mib(m0.heapInuse), perUser(m1.heapInuse, m0.heapInuse))
	fmt.Printf("  RSS          %6.1f MiB (before: %5.1f MiB) → %5.0f bytes per cached user (after GC; target ≤ 3,500)\n",
		mib(m1.rss), mib(m0.rss), perUser(m1.rss, m0.rss))
	fmt.Printf("  peak RSS     %6.1f MiB                     → %5.0f bytes per cached user (VmHWM, while filling)\n",
		mib(m1.peakRSS), perUser(m1.peakRSS, m0.rss))
	return nil
}

// mem is one reading of the process's memory, taken after a collection.
type mem struct {
	// heapAlloc is the bytes of live heap objects; heapInuse adds the
	// unused room in the spans that hold them.
	heapAlloc, heapInuse uint64
	// rss and peakRSS are the kernel's VmRSS and VmHWM.
	rss, peakRSS uint64
}

func memNow() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := mem{heapAlloc: ms.HeapAlloc, heapInuse: ms.HeapInuse}
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		switch k {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.peakRSS = kb << 10
		}
	}
	return m
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
