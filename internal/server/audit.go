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
func (t auditTime) MarshalJSON() ([]byte, error) { return t.appendJSON(nil, nil), nil }

// UnmarshalJSON reads what MarshalJSON writes.
func (t *auditTime) UnmarshalJSON(b []byte) error {
	var v time.Time
	if err := v.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = auditTime(v)
	return nil
}

// appendJSON appends the quoted RFC 3339 form; st (which may be nil)
// remembers the text of the second last written.
func (t auditTime) appendJSON(b []byte, st *secondText) []byte {
	b = append(b, '"')
	b = appendRFC3339(b, time.Time(t), false, st)
	return append(b, '"')
}

// auditor writes audit events as JSON lines. Lines never interleave, and
// write returns only once its line has reached the writer (the audit_log
// file, stdout): a credential whose line is lost must not be handed out.
//
// Each line is encoded straight into one buffer and written while the lock
// is held: no buffer to borrow, nothing to copy. (Grouping concurrent
// requests' lines into one write was measured on 2 cores: 1.02 lines per
// write, and slower, since a short write(2) keeps its core.)
type auditor struct {
	w   io.Writer
	now func() time.Time

	mu    sync.Mutex
	buf   []byte    // the line being written; guarded by mu
	times lineTimes // guarded by mu
}

func newAuditor(w io.Writer, now func() time.Time) *auditor {
	if w == nil {
		w = io.Discard
	}
	return &auditor{w: w, now: now}
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
	if err := a.commit(func(b []byte) []byte { return append(ev.appendJSON(b, &a.times), '\n') }); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// commit encodes a line (add appends it, with mu held) and writes it.
func (a *auditor) commit(add func([]byte) []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf = add(a.buf[:0])
	return writeLines(a.w, a.buf)
}

// writeLines writes p, turning a panic of w into an error: the request
// fails closed like any other whose line was not written.
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
