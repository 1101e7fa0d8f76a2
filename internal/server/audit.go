package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// auditEvent is one line of the audit trail (DESIGN §9). It names who got
// what and where, and never holds a secret: the AWS access key id is public
// (it appears in the store's own logs), the secret and session token are not
// recorded.
type auditEvent struct {
	Time        time.Time `json:"time"`
	Event       string    `json:"event"` // issued | denied | failed
	RequestID   string    `json:"request_id"`
	User        string    `json:"user"`
	Grant       string    `json:"grant"`
	Provider    string    `json:"provider,omitempty"`
	Access      string    `json:"access,omitempty"`
	Location    string    `json:"location,omitempty"`
	ExpiresAt   auditTime `json:"expires_at,omitzero"`
	AccessKeyID string    `json:"access_key_id,omitempty"`
	CacheHit    bool      `json:"cache_hit"`
	Client      string    `json:"client"`
	Code        string    `json:"code,omitempty"`
	GitHubLogin string    `json:"github_login,omitempty"`
	// TokenID names the delegation token that asked (never the token).
	TokenID string `json:"token_id,omitempty"`

	// requestPrefix and requestSeq are the request id in parts, written
	// when RequestID is "" (see appendJSON): a warm request then never
	// builds its id's string.
	requestPrefix string
	requestSeq    uint64
}

// auditTime is a time written as RFC 3339 in UTC to the second, as the
// API's expires_at fields are; the zero time is left out.
type auditTime time.Time

// IsZero reports the zero time (for omitzero).
func (t auditTime) IsZero() bool { return time.Time(t).IsZero() }

// MarshalJSON writes the quoted RFC 3339 form.
func (t auditTime) MarshalJSON() ([]byte, error) { return t.appendJSON(nil), nil }

// UnmarshalJSON reads what MarshalJSON writes.
func (t *auditTime) UnmarshalJSON(b []byte) error {
	var v time.Time
	if err := v.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = auditTime(v)
	return nil
}

func (t auditTime) appendJSON(b []byte) []byte {
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// auditor writes audit events as JSON lines. Lines never interleave, and
// write returns only once its line has reached the writer (the audit_log
// file, stdout): a credential whose line is lost must not be handed out.
//
// Writes are group-committed: while one batch of lines is being written,
// the lines of requests arriving meanwhile gather in the next batch, and
// one of those requests writes them all with a single call. Under load
// that is one write(2) for many requests instead of one each (the syscall
// was a quarter of a warm request's time under wrk); alone, a request
// writes its own line at once, as before. Every request still waits for
// the write that carries its line and gets that write's error.
type auditor struct {
	w   io.Writer
	now func() time.Time

	mu      sync.Mutex
	cur     *auditBatch // gathering lines; never nil
	writing bool        // a batch is being written (outside mu)
	free    []*auditBatch
}

// auditBatch is lines waiting for, or carried by, one write.
type auditBatch struct {
	lines []byte
	// refs counts the requests whose lines are in the batch and that have
	// not yet read its result; the batch is reused when it drops to zero.
	refs    int
	written bool
	err     error
	// done wakes the batch's requests once it is written (and one of them
	// to write it, if it is still gathering when no write runs).
	done *sync.Cond
}

func newAuditor(w io.Writer, now func() time.Time) *auditor {
	if w == nil {
		w = io.Discard
	}
	a := &auditor{w: w, now: now}
	a.cur = a.batch()
	return a
}

// batch returns an empty batch; a.mu is held or a is not yet shared.
func (a *auditor) batch() *auditBatch {
	if n := len(a.free); n > 0 {
		b := a.free[n-1]
		a.free = a.free[:n-1]
		return b
	}
	return &auditBatch{done: sync.NewCond(&a.mu)}
}

// write appends ev as one line and reports whether it reached the writer.
// rq is the request's state (nil outside instrument).
func (a *auditor) write(rq *request, r *http.Request, ev auditEvent) error {
	ev.Time = a.now().UTC()
	if rq != nil {
		ev.requestPrefix, ev.requestSeq = rq.prefix, rq.seq
	} else {
		ev.RequestID = requestID(r.Context())
	}
	ev.Client = clientHost(r)
	if id := auditCaller(rq.callerRec(), ev.Event); id != "" {
		ev.TokenID = id
	}
	if err := a.commit(ev.appendLine); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// appendLine appends ev's line, newline included.
func (ev *auditEvent) appendLine(b []byte) []byte { return append(ev.appendJSON(b), '\n') }

// commit appends a line (add appends it) to the gathering batch and waits
// until that batch is written, writing it itself when no other write
// runs. The line is encoded straight into the batch: no buffer to borrow,
// nothing to copy.
func (a *auditor) commit(add func([]byte) []byte) error {
	a.mu.Lock()
	b := a.cur
	b.lines = add(b.lines)
	b.refs++
	for !b.written {
		if a.writing {
			b.done.Wait()
			continue
		}
		// No write runs and b is not written, so b is still the gathering
		// batch: take it, and let the next lines gather in a new one.
		a.writing = true
		a.cur = a.batch()
		a.mu.Unlock()
		err := writeLines(a.w, b.lines)
		a.mu.Lock()
		b.written, b.err = true, err
		a.writing = false
		b.done.Broadcast()
		// Lines that gathered during the write: one of their requests
		// writes them next.
		if a.cur.refs > 0 {
			a.cur.done.Signal()
		}
	}
	err := b.err
	if b.refs--; b.refs == 0 {
		b.lines, b.written, b.err = b.lines[:0], false, nil
		a.free = append(a.free, b)
	}
	a.mu.Unlock()
	return err
}

// writeLines writes p, turning a panic of w into an error: a writer that
// panicked must not leave every later request waiting for its write.
func writeLines(w io.Writer, p []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("audit writer panicked: %v", r)
		}
	}()
	_, err = w.Write(p)
	return err
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
