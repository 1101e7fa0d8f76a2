package main

import (
	"io"
	"net/http"
	"sync"
	"time"
)

type pacedResult struct {
	n, errors int
	p50, p99  time.Duration
}

// paced sends requests at a fixed total rate for d, open loop: each
// request has a scheduled start, and its latency counts from that moment,
// so a slow server cannot hide its queueing by slowing the client down.
func paced(url string, tokens []string, rate float64, d time.Duration) (pacedResult, error) {
	const workers = 64
	interval := time.Duration(float64(time.Second) * workers / rate)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 10 * time.Second}
	start := time.Now().Add(50 * time.Millisecond)
	end := start.Add(d)
	var (
		mu  sync.Mutex
		all []time.Duration
		bad int
		wg  sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for i := 0; ; i++ {
				at := start.Add(time.Duration(w)*interval/workers + time.Duration(i)*interval)
				if at.After(end) {
					break
				}
				time.Sleep(time.Until(at))
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "token "+tokens[(w+i*workers)%len(tokens)])
				resp, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs++
					continue
				}
				lat = append(lat, time.Since(at))
			}
			mu.Lock()
			all = append(all, lat...)
			bad += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := pacedResult{n: len(all) + bad, errors: bad}
	if len(all) > 0 {
		p := percentiles(all)
		r.p50, r.p99 = p[0], p[2]
	}
	return r, nil
}
