package integration

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/testenv/stack"
)

// scrape reads credserver's /metrics into series → value, series written as
// Prometheus prints them (name{label="v",...}, labels sorted).
func scrape(t *testing.T, s *stack.Stack) map[string]float64 {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(s.URL, stack.BasePath) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics = %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterKnownTraffic scrapes the real stack's credserver before
// and after known traffic and checks the counts moved by exactly that.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	s := sharedStack(t)
	const route = `route="` + stack.BasePath + `/v1/credentials/{grant}"`
	before := scrape(t, s)
	tok := "token " + s.Tokens["bob"]
	for range 3 {
		if r := call(t, s.URL+"/v1/credentials/scratch-ro", tok); r.Status != 200 {
			t.Fatalf("scratch-ro = %d %s", r.Status, r.Raw)
		}
	}
	call(t, s.URL+"/v1/credentials/no-such-grant-xyz", tok)
	call(t, s.URL+"/v1/credentials/scratch", "token not-a-hub-token")
	after := scrape(t, s)

	for series, want := range map[string]float64{
		`credserver_credentials_issued_total{grant="scratch-ro",provider="aws",result="issued"}`: 3,
		`credserver_credentials_issued_total{grant="_unknown",provider="",result="denied"}`:      1,
		`credserver_http_requests_total{code="200",` + route + `}`:                               3,
		`credserver_http_requests_total{code="404",` + route + `}`:                               1,
		`credserver_http_requests_total{code="401",` + route + `}`:                               1,
		`credserver_http_request_duration_seconds_count{` + route + `}`:                          5,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	for _, series := range []string{
		`credserver_upstream_request_duration_seconds_count{result="ok",upstream="hub"}`,
		`credserver_upstream_request_duration_seconds_count{result="ok",upstream="aws"}`,
		`credserver_cache_requests_total{cache="identity",result="hit"}`,
		`credserver_cache_requests_total{cache="credentials",result="hit"}`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if after[series] <= 0 {
			t.Errorf("%s = %v, want > 0 after the suite's traffic", series, after[series])
		}
	}
	for series := range after {
		if strings.Contains(series, "no-such-grant") || strings.Contains(series, "not-a-hub-token") {
			t.Errorf("a client-chosen string became a label: %s", series)
		}
	}
}
