package web

import (
	"encoding/json"
	"github.com/credserver/credserver/internal/auth"
	"net/http"
	"strings"
	"time"
)

// wantsJSON tells the page's script (fetch with Accept: application/json)
// from a plain form post.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorJSON(code, msg string) map[string]map[string]string {
	return map[string]map[string]string{"error": {"code": code, "message": msg}}
}

// githubLogin is POST {base}/web/github/login: start a device flow. The
// script gets JSON (the user code, the verification link, the login id);
// a plain form gets the page showing them.
func (p *Page) githubLogin(w http.ResponseWriter, r *http.Request, s session, id auth.Identity) {
	l, err := p.be.StartGitHubLogin(r, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{
			"login_id": l.ID, "user_code": l.UserCode, "verification_uri": l.VerificationURI,
			"expires_at": l.ExpiresAt.UTC().Format(time.RFC3339), "interval": max(1, int(l.Interval/time.Second)),
		})
		return
	}
	p.render(w, r, s, id, extras{flow: &flowView{LoginID: l.ID, UserCode: l.UserCode, VerificationURI: l.VerificationURI}})
}

// githubPoll is POST {base}/web/github/poll with login_id: one poll of the
// device flow (the script repeats it; a plain form is the "I have entered
// the code" button).
func (p *Page) githubPoll(w http.ResponseWriter, r *http.Request, s session, id auth.Identity) {
	loginID := r.PostFormValue("login_id")
	st, err := p.be.PollGitHubLogin(r, id, loginID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"status": st.Status, "login": st.Login, "interval": max(1, int(st.Interval/time.Second))})
		return
	}
	switch st.Status {
	case "complete":
		http.Redirect(w, r, p.opts.BasePath+"/", http.StatusSeeOther)
	case "pending":
		p.render(w, r, s, id, extras{flow: &flowView{LoginID: loginID, Pending: true}})
	default:
		p.render(w, r, s, id, extras{message: "The GitHub login " + st.Status + ". Press Link GitHub to start again."})
	}
}

// githubUnlink is POST {base}/web/github/unlink.
func (p *Page) githubUnlink(w http.ResponseWriter, r *http.Request, s session, id auth.Identity) {
	if err := p.be.UnlinkGitHub(r, id); err != nil {
		p.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]bool{"linked": false})
		return
	}
	http.Redirect(w, r, p.opts.BasePath+"/", http.StatusSeeOther)
}
