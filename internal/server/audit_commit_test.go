package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingWriter keeps every Write call; gate, when set, holds the first
// call until it is closed.
type recordingWriter struct {
	mu     sync.Mutex
	calls  [][]byte
	gate   chan struct{}
	failAt int // 1-based call that fails; 0: none
	panics bool
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.calls = append(w.calls, bytes.Clone(p))
	n := len(w.calls)
	gate := w.gate
	w.mu.Unlock()
	if n == 1 && gate != nil {
		<-gate
	}
	if n == w.failAt {
		if w.panics {
			panic("disk on fire")
		}
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func (w *recordingWriter) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, c := range w.calls {
		sc := bufio.NewScanner(bytes.NewReader(c))
		for sc.Scan() {
			out = append(out, sc.Text())
		}
	}
	return out
}

// line adds s to a batch.
func line(s string) func([]byte) []byte {
	return func(b []byte) []byte { return append(b, s...) }
}

// waitGathered waits until n lines wait in a's gathering batch.
func waitGathered(t *testing.T, a *auditor, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.mu.Lock()
		got := a.cur.refs
		a.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines gathered, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Lines that arrive while a write runs go out together in the next write,
// each exactly once and whole, and every request returns only after its
// own line was written.
func TestAuditGroupCommit(t *testing.T) {
	w := &recordingWriter{gate: make(chan struct{})}
	a := newAuditor(w, time.Now)
	first := make(chan error, 1)
	go func() { first <- a.commit(line("line-0\n")) }()
	// Wait for the first write to be under way (held by the gate).
	for {
		w.mu.Lock()
		n := len(w.calls)
		w.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	const n = 50
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		go func() { errs <- a.commit(line(fmt.Sprintf("line-%d\n", i))) }()
	}
	waitGathered(t, a, n)
	select {
	case err := <-errs:
		t.Fatalf("a request returned (%v) before the write carrying its line", err)
	default:
	}
	close(w.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(w.calls) != 2 {
		t.Fatalf("%d writes, want 2 (the first line alone, then the %d gathered)", len(w.calls), n)
	}
	got := w.lines()
	want := []string{}
	for i := 0; i <= n; i++ {
		want = append(want, fmt.Sprintf("line-%d", i))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("lines written:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A failed write fails exactly the requests whose lines it carried; the
// next write is tried afresh. A panicking writer is a failed write, not a
// server that waits forever.
func TestAuditGroupCommitErrors(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprintf("panics=%v", panics), func(t *testing.T) {
			w := &recordingWriter{gate: make(chan struct{}), failAt: 2, panics: panics}
			a := newAuditor(w, time.Now)
			first := make(chan error, 1)
			go func() { first <- a.commit(line("a\n")) }()
			for {
				w.mu.Lock()
				n := len(w.calls)
				w.mu.Unlock()
				if n == 1 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			errs := make(chan error, 3)
			for _, l := range []string{"b\n", "c\n", "d\n"} {
				go func() { errs <- a.commit(line(l)) }()
			}
			waitGathered(t, a, 3)
			close(w.gate)
			if err := <-first; err != nil {
				t.Fatalf("first write: %v", err)
			}
			for range 3 {
				if err := <-errs; err == nil {
					t.Fatal("a line of the failed write was reported written")
				}
			}
			if err := a.commit(line("e\n")); err != nil {
				t.Fatalf("write after a failed one: %v", err)
			}
			if len(w.calls) != 3 {
				t.Fatalf("%d writes, want 3", len(w.calls))
			}
		})
	}
}

// Many concurrent requests: every line is written once and whole, in some
// order, however the writes were grouped.
func TestAuditGroupCommitConcurrent(t *testing.T) {
	w := &recordingWriter{}
	a := newAuditor(w, time.Now)
	const goroutines, each = 16, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := a.commit(line(fmt.Sprintf("%d-%d\n", g, i))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got := w.lines()
	if len(got) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(got), goroutines*each)
	}
	seen := map[string]bool{}
	for _, l := range got {
		if seen[l] {
			t.Fatalf("line %q written twice", l)
		}
		seen[l] = true
	}
	t.Logf("%d lines in %d writes", len(got), len(w.calls))
}
