package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

//go:embed assets
var assets embed.FS

var pageTemplates = template.Must(template.New("").ParseFS(assets, "assets/*.html"))

// view is everything a template sees. Every string in it is escaped by
// html/template where it is written.
type view struct {
	Base, Nonce, CSRF string
	User              string
	Groups            []string
	Admin             bool
	Grants            []grantRow
	GitHub            *githubView
	Tokens            *tokensView
	Explain           *explainView
	Message           string
	// Status is the page's HTTP status (error pages).
	Status int
}

// githubView is the GitHub section.
type githubView struct {
	Grant     string
	Linked    bool
	Login     string
	ExpiresAt string
	AppURL    string
	// Flow is a device flow started without JavaScript.
	Flow *flowView
}

type flowView struct {
	LoginID, UserCode, VerificationURI string
	Pending                            bool
}

// extras are what an action adds to the page it answers with.
type extras struct {
	flow     *flowView
	newToken *createdToken
	message  string
}

// root is GET {base}/: the page with a session; without one a browser is
// sent to log in at the hub and anything else (the hub's service probe)
// gets the probe answer.
func (p *Page) root(w http.ResponseWriter, r *http.Request) {
	s, id, err := p.current(w, r)
	if errors.Is(err, errNoSession) {
		if wantsHTML(r) {
			p.login(w, r)
			return
		}
		p.probe(w, r)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, s, id, extras{})
}

// build assembles the page for id.
func (p *Page) build(r *http.Request, s session, id auth.Identity, ex extras) view {
	pol := p.be.Policy()
	u := policy.User{Name: id.Name, Groups: id.Groups, Admin: id.Admin}
	views := pol.Grants(u)
	v := view{
		Base: p.opts.BasePath, Nonce: nonceOf(r), CSRF: s.CSRF,
		User: id.Name, Groups: id.Groups, Grants: make([]grantRow, 0, len(views)),
		Message: ex.message,
	}
	for _, g := range views {
		d, _ := pol.Decide(u, policy.Request{Grant: g.Name})
		snips := snippets(g, d, p.opts.Providers[d.Provider])
		v.Grants = append(v.Grants, grantRow{
			Name: g.Name, Provider: g.Provider, Access: g.Access, Location: g.Location,
			MaxDuration: config.Duration(g.MaxDuration).String(),
			Snippets:    snips, Block: snippetsHTML(g.Name, snips),
		})
	}
	if gh := p.be.GitHub(r, id); gh != nil {
		v.GitHub = &githubView{Grant: gh.Grant, Linked: gh.Linked, Login: gh.Login, AppURL: p.opts.Providers[gh.Provider].AppURL, Flow: ex.flow}
		if !gh.ExpiresAt.IsZero() {
			v.GitHub.ExpiresAt = gh.ExpiresAt.UTC().Format(time.RFC3339)
		}
	}
	v.Admin = p.isAdmin(r, id)
	if p.tokens != nil {
		v.Tokens = p.tokensView(r, id, v.Grants, ex.newToken)
	}
	return v
}

func (p *Page) render(w http.ResponseWriter, r *http.Request, s session, id auth.Identity, ex extras) {
	p.write(w, r, http.StatusOK, "page.html", p.build(r, s, id, ex))
}

// write renders a template into a buffer first, so a template error never
// leaves half a page.
func (p *Page) write(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	var b bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&b, name, v); err != nil {
		p.log.Error("web: rendering the page failed", "template", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// errorPage answers with a short page that says msg.
func (p *Page) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, errorJSON("error", msg))
		return
	}
	p.write(w, r, status, "message.html", view{Base: p.opts.BasePath, Nonce: nonceOf(r), Message: msg, Status: status})
}

// fail answers for err as the API would describe it. A lost session sends
// a browser to log in again (a plain GET) or says so (an action).
func (p *Page) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNoSession) {
		if r.Method == http.MethodGet && !wantsJSON(r) {
			p.login(w, r)
			return
		}
		p.errorPage(w, r, http.StatusUnauthorized, "Your session has ended. Reload the page to log in again.")
		return
	}
	pr := p.be.Describe(err)
	if pr.Status >= 500 {
		p.log.Warn("web: request failed", "status", pr.Status, "code", pr.Code, "error", err.Error())
	}
	if pr.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(pr.RetryAfter))
	}
	if wantsJSON(r) {
		writeJSON(w, pr.Status, errorJSON(pr.Code, pr.Msg))
		return
	}
	p.errorPage(w, r, pr.Status, pr.Msg)
}

func (p *Page) forbidden(w http.ResponseWriter, r *http.Request) {
	p.errorPage(w, r, http.StatusForbidden, "This request did not come from the credserver page (missing or wrong CSRF token, or another site). Nothing was changed.")
}

// static serves the embedded CSS and JavaScript.
func (p *Page) static(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "file")
	var ctype string
	switch path.Ext(name) {
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	default:
		http.NotFound(w, r)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(b)
}
