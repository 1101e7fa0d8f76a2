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

// auditor writes audit events as JSON lines; writes are serialised so lines
// never interleave.
type auditor struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

func newAuditor(w io.Writer, now func() time.Time) *auditor {
	if w == nil {
		w = io.Discard
	}
	return &auditor{w: w, now: now}
}

// write appends ev as one line and reports whether it reached the writer:
// a credential whose line is lost must not be handed out.
func (a *auditor) write(r *http.Request, ev auditEvent) error {
	ev.Time = a.now().UTC()
	ev.RequestID = requestID(r.Context())
	ev.Client = clientHost(r)
	if id := auditCaller(r, ev.Event); id != "" {
		ev.TokenID = id
	}
	bp := lineBufs.Get().(*[]byte)
	line := append(ev.appendJSON((*bp)[:0]), '\n')
	a.mu.Lock()
	_, err := a.w.Write(line)
	a.mu.Unlock()
	*bp = line
	lineBufs.Put(bp)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
