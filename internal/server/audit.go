package server

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/vend"
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
	ExpiresAt   string    `json:"expires_at,omitempty"`
	AccessKeyID string    `json:"access_key_id,omitempty"`
	CacheHit    bool      `json:"cache_hit"`
	Client      string    `json:"client"`
	Code        string    `json:"code,omitempty"`
	GitHubLogin string    `json:"github_login,omitempty"`
	// TokenID names the delegation token that asked (never the token).
	TokenID string `json:"token_id,omitempty"`
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

func (a *auditor) write(r *http.Request, ev auditEvent) {
	ev.Time = a.now().UTC()
	ev.RequestID = middleware.GetReqID(r.Context())
	ev.Client = clientHost(r)
	if id := auditCaller(r, ev.Event); id != "" {
		ev.TokenID = id
	}
	bp := lineBufs.Get().(*[]byte)
	line := append(ev.appendJSON((*bp)[:0]), '\n')
	a.mu.Lock()
	_, _ = a.w.Write(line)
	a.mu.Unlock()
	*bp = line
	lineBufs.Put(bp)
}

func (a *auditor) issued(r *http.Request, d policy.Decision, c *vend.Credentials, hit bool) {
	a.write(r, auditEvent{
		Event: "issued", User: d.User, Grant: d.Grant, Provider: d.Type,
		Access: d.Access.String(), Location: d.Location,
		ExpiresAt: c.Expires.UTC().Format(time.RFC3339), AccessKeyID: c.KeyID, CacheHit: hit,
	})
}

// github records a change to a user's GitHub link: event is
// github_login_started, github_linked or github_unlinked.
func (a *auditor) github(r *http.Request, event, user, grant, login string) {
	a.write(r, auditEvent{Event: event, User: user, Grant: grant, Provider: "github", GitHubLogin: login})
}

func (a *auditor) denied(r *http.Request, user, grant string, err error) {
	a.write(r, auditEvent{Event: "denied", User: user, Grant: grant, Code: toAPIError(err).Code})
}

func (a *auditor) failed(r *http.Request, d policy.Decision, err error) {
	a.write(r, auditEvent{
		Event: "failed", User: d.User, Grant: d.Grant, Provider: d.Type,
		Access: d.Access.String(), Location: d.Location, Code: toAPIError(err).Code,
	})
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
