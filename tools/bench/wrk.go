package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	RPS      float64
	P50, P99 time.Duration
	Errors   string // wrk's non-2xx / socket error lines, if any
}

// writeScript writes a wrk Lua script that cycles through the users' tokens,
// so every request is a different user's, as on a busy hub.
func writeScript(dir, path string, tokens []string) (string, error) {
	var b strings.Builder
	b.WriteString("local tokens = {\n")
	for _, t := range tokens {
		fmt.Fprintf(&b, "  %q,\n", "token "+t)
	}
	fmt.Fprintf(&b, "}\nlocal i = 0\nrequest = function()\n  i = i + 1\n"+
		"  return wrk.format(\"GET\", %q, {[\"Authorization\"] = tokens[(i %% #tokens) + 1]})\nend\n", path)
	p := filepath.Join(dir, "users.lua")
	return p, os.WriteFile(p, []byte(b.String()), 0o600)
}

func runWrk(o options, script, url string) (wrkResult, error) {
	out, err := exec.Command("wrk", "-t", strconv.Itoa(o.threads), "-c", strconv.Itoa(o.connections),
		"-d", o.duration.String(), "--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	return parseWrk(string(out))
}

var (
	rpsRe     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	pctRe     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkErrsRe = regexp.MustCompile(`(?m)^\s+(Non-2xx.*|Socket errors.*)$`)
)

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := rpsRe.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range pctRe.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[3]]
		d := time.Duration(v * float64(unit))
		if p[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if e := wrkErrsRe.FindAllString(out, -1); e != nil {
		r.Errors = strings.TrimSpace(strings.Join(e, "; "))
	}
	return r, nil
}
