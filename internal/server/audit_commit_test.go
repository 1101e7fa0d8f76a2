package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// recordingWriter keeps every Write call; the call numbered failAt
// (1-based) fails, or panics.
type recordingWriter struct {
	mu     sync.Mutex
	calls  [][]byte
	failAt int
	panics bool
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.calls = append(w.calls, bytes.Clone(p))
	n := len(w.calls)
	w.mu.Unlock()
	if n == w.failAt {
		if w.panics {
			panic("disk on fire")
		}
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// line adds s to the auditor's buffer.
func line(s string) func([]byte) []byte {
	return func(b []byte) []byte { return append(b, s...) }
}

// A failed write fails its request, and the next is tried afresh. A
// panicking writer is a failed write: the request fails closed, and the
// auditor is not left locked.
func TestAuditWriteErrors(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprintf("panics=%v", panics), func(t *testing.T) {
			w := &recordingWriter{failAt: 2, panics: panics}
			a := newAuditor(w, time.Now)
			if err := a.commit(line("a\n")); err != nil {
				t.Fatalf("first write: %v", err)
			}
			if err := a.commit(line("b\n")); err == nil {
				t.Fatal("a failed write was reported written")
			}
			if err := a.commit(line("c\n")); err != nil {
				t.Fatalf("write after a failed one: %v", err)
			}
			if len(w.calls) != 3 || string(w.calls[2]) != "c\n" {
				t.Fatalf("writes %q, want 3 ending with c", w.calls)
			}
		})
	}
}

// Many concurrent requests: every line is written once and whole.
func TestAuditConcurrentLines(t *testing.T) {
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
	seen := map[string]bool{}
	for _, c := range w.calls {
		sc := bufio.NewScanner(bytes.NewReader(c))
		for sc.Scan() {
			if seen[sc.Text()] {
				t.Fatalf("line %q written twice", sc.Text())
			}
			seen[sc.Text()] = true
		}
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(seen), goroutines*each)
	}
}
