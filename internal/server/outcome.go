package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/vend"
)

// outcome is what one credential request came to. The handler fills it as
// it goes (auth → decide → issue) and [Server.record] turns it into the
// request's one audit line and its metrics, so no exit can forget either.
type outcome struct {
	// grant is the grant name as asked, bounded (see boundedGrant).
	grant string
	// user is the caller's hub name; "" before authentication succeeded.
	user string
	// decided is set once the policy allowed the request; decision is
	// then what it allowed.
	decided  bool
	decision policy.Decision
	// cred and hit are the credential handed out and whether no upstream
	// call was made for it.
	cred *vend.Credentials
	hit  bool
	// err is why the request failed; nil when cred is set.
	err error
	// invalid marks a malformed request (bad parameter), counted apart
	// from denials of a real grant.
	invalid bool
}

// maxLoggedGrant bounds the grant name as written to the audit trail and
// metrics: longer than any configured name, so nothing real is cut.
const maxLoggedGrant = 128

// boundedGrant returns the grant name fit for logs: names longer than any
// the policy can hold are cut, so a client cannot choose how much is
// written for a request that is refused anyway.
func boundedGrant(name string) string {
	if len(name) > maxLoggedGrant {
		return name[:maxLoggedGrant] + "…"
	}
	return name
}

// record writes o's audit line and counts it, once per request. It returns
// the error to answer with: o.err mapped for the client, or, when an
// issued credential's audit line could not be written, audit_unavailable —
// a credential that leaves no trace is not handed out (DESIGN §9).
func (s *Server) record(rq *request, r *http.Request, o *outcome) error {
	var ae *apiError
	if o.err != nil {
		ae = toAPIError(o.err)
	}
	ev := auditEvent{User: o.user, Grant: o.grant}
	d := &o.decision
	if o.decided {
		ev.Provider, ev.Access, ev.Location = d.Type, d.Access.String(), d.Location
	}
	switch {
	case ae == nil:
		ev.Event = "issued"
		ev.ExpiresAt = auditTime(o.cred.Expires)
		ev.AccessKeyID, ev.CacheHit = o.cred.KeyID, o.hit
		s.metrics.credentialCache(o.hit)
		s.metrics.credentialIssued(d.Type, d.Grant)
	case o.decided:
		ev.Event = "failed"
		ev.Code = ae.Code
		s.metrics.credential(d.Type, d.Grant, "error")
	default:
		ev.Event = "denied"
		ev.Code = ae.Code
		switch {
		case o.user == "" || ae.Status == http.StatusTooManyRequests:
			// Not a decision about a grant: unauthenticated or rate
			// limited, counted by their own metrics.
		case o.invalid:
			s.metrics.credential("", "_invalid_request", "denied")
		case errors.Is(o.err, policy.ErrUnknownGrant):
			s.metrics.credential("", "_unknown", "denied")
		default:
			s.metrics.credential("", o.grant, "denied")
		}
	}
	if err := s.audit.write(rq, r, ev); err != nil {
		s.metrics.auditWriteFailed()
		s.log.LogAttrs(rq.ctx(r), slog.LevelError, "audit line not written", slog.String("event", ev.Event),
			slog.String("user", ev.User), slog.String("grant", ev.Grant), slog.String("error", err.Error()))
		if ae == nil {
			return &apiError{Status: http.StatusServiceUnavailable, Code: "audit_unavailable",
				Msg: "the audit trail cannot be written, so no credential is handed out; try again shortly", Err: err, RetryAfter: 5}
		}
	}
	if ae != nil {
		return ae
	}
	return nil
}

// auditGitHub records a change to a user's GitHub link. The change has
// happened by then, so a lost line is logged and counted, not undone.
func (s *Server) auditGitHub(r *http.Request, event, user, grant, login string) {
	_ = s.auditChange(r, auditEvent{Event: event, User: user, Grant: grant, Provider: "github", GitHubLogin: login})
}

// auditChange writes the audit line of a change other than an issuance
// (a GitHub link, a delegation token); a lost line is logged and counted,
// and returned for callers that must then undo what they did.
func (s *Server) auditChange(r *http.Request, ev auditEvent) error {
	err := s.audit.write(stateIn(r), r, ev)
	if err != nil {
		s.metrics.auditWriteFailed()
		s.log.LogAttrs(r.Context(), slog.LevelError, "audit line not written", slog.String("event", ev.Event),
			slog.String("user", ev.User), slog.String("error", err.Error()))
	}
	return err
}
