// Command bench measures credserver against baselines taken in the same
// run, on the same machine, with the same settings (DESIGN §2, §8; issue 8):
//
//   - warm throughput and latency: wrk against credserver (real JupyterHub
//     and MinIO behind it, caches warm, many distinct users) and against a
//     bare net/http handler returning a body of the same size;
//   - p50/p99 at half of credserver's peak, with an open-loop paced client;
//   - the cold path: credserver's added latency over a direct STS
//     AssumeRole to the same MinIO with the same session policy;
//   - memory: RSS and live heap after caching 100,000 users (in its own
//     process: `bench -mode memory`).
//
// Figures are reported, never asserted: the machines are shared and noisy,
// so compare the ratios, not the absolute numbers.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

type options struct {
	users       int
	duration    time.Duration
	connections int
	threads     int
	cold        int
	memUsers    int
}

func main() {
	var o options
	mode := flag.String("mode", "all", "all | http | memory")
	flag.IntVar(&o.users, "users", 200, "distinct hub users for the warm runs")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each load run")
	flag.IntVar(&o.connections, "connections", 32, "wrk connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.cold, "cold", 100, "cold requests (and direct STS calls) to time")
	flag.IntVar(&o.memUsers, "memusers", 100_000, "users cached for the memory figure")
	flag.Parse()
	// CREDSERVER_BENCH_CPUPROFILE=path profiles this process, which runs
	// credserver and the bare handler in-process (the hub, MinIO and wrk
	// are other processes): `go tool pprof` then shows where each server's
	// time goes under wrk.
	if path := os.Getenv("CREDSERVER_BENCH_CPUPROFILE"); path != "" && *mode != "memory" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	err := run(*mode, o)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(mode string, o options) error {
	var err error
	switch mode {
	case "http":
		err = runHTTP(o)
	case "memory":
		err = runMemory(o.memUsers)
	case "all":
		if err = runHTTP(o); err == nil {
			err = runSelf("-mode", "memory", "-memusers", fmt.Sprint(o.memUsers))
		}
	default:
		err = fmt.Errorf("unknown -mode %q", mode)
	}
	return err
}
