package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// explainView is the admin's Explain answer.
type explainView struct {
	User   string
	Groups []string
	// GroupsFrom says where the groups came from: "the hub" or "the form".
	GroupsFrom string
	// GroupsInput is what the form's groups field held.
	GroupsInput string
	Rows        []explainRow
	Allowed     int
	Error       string
}

type explainRow struct {
	Grant, Provider, Type string
	Allowed               bool
	Rule, Matched, When   string
	Access, Duration      string
	Locations             []string
}

// isAdmin reports whether the hub marks id's user as an admin. The token
// the hub's OAuth gives this page cannot read the admin flag itself, so
// the hub is asked with credserver's own service token.
func (p *Page) isAdmin(r *http.Request, id auth.Identity) bool {
	if id.Admin {
		return true
	}
	a, err := p.be.Account(r.Context(), id.Name)
	if err != nil {
		if !errors.Is(err, ErrNoDirectory) {
			p.log.Warn("web: reading the admin flag at the hub failed", "user", id.Name, "error", err.Error())
		}
		return false
	}
	return a.Admin && a.Name == id.Name
}

// maxExplainInput bounds the user and groups a form may send.
const maxExplainInput = 1024

// explain is GET {base}/admin/explain?user=U[&groups=a,b], hub admins only:
// what U may have and which rule decided, with U's groups from the hub
// unless groups is given. It changes nothing, so it is a GET.
func (p *Page) explain(w http.ResponseWriter, r *http.Request) {
	s, id, err := p.current(w, r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !p.isAdmin(r, id) {
		p.errorPage(w, r, http.StatusForbidden, "Explain is for hub admins only.")
		return
	}
	q := r.URL.Query()
	user := strings.TrimSpace(q.Get("user"))
	groupsIn := q.Get("groups")
	ex := &explainView{User: user, GroupsInput: groupsIn}
	v := p.build(r, s, id, extras{})
	v.Explain = ex
	switch {
	case user == "":
		ex.Error = "Give a user name."
	case len(user) > maxExplainInput || len(groupsIn) > maxExplainInput:
		ex.Error = "The user name or the groups are too long."
	default:
		p.runExplain(r, ex, groupsIn, q.Has("groups") && strings.TrimSpace(groupsIn) != "")
	}
	p.write(w, r, http.StatusOK, "page.html", v)
}

func (p *Page) runExplain(r *http.Request, ex *explainView, groupsIn string, given bool) {
	u := policy.User{Name: ex.User}
	if given {
		u.Groups = splitGroups(groupsIn)
		ex.GroupsFrom = "the form"
	} else {
		a, err := p.be.Account(r.Context(), ex.User)
		switch {
		case errors.Is(err, ErrNoSuchUser):
			ex.Error = "The hub has no user of that name; give groups to explain a user that does not exist yet."
			return
		case errors.Is(err, ErrNoDirectory):
			ex.Error = "credserver cannot read users at the hub (no hub.api_token_file); give the groups."
			return
		case err != nil:
			p.log.Warn("web: explain: reading the user at the hub failed", "error", err.Error())
			ex.Error = p.be.Describe(err).Msg
			return
		}
		u.Groups, u.Admin = a.Groups, a.Admin
		ex.GroupsFrom = "the hub"
	}
	ex.Groups = u.Groups
	pol := p.be.Policy()
	for _, name := range pol.Names() {
		e, err := pol.Explain(u, name)
		if err != nil {
			continue
		}
		row := explainRow{Grant: e.Grant, Provider: e.Provider, Type: e.Type, Allowed: e.Allowed, Rule: e.Reason,
			When: strings.Join(strings.Fields(e.When), " ")}
		if e.Allowed {
			ex.Allowed++
			row.Access = e.Decision.Access.String()
			row.Duration = config.Duration(e.Decision.Duration).String() + " (max " + config.Duration(e.MaxDuration).String() + ")"
			row.Locations = e.Decision.Locations()
		} else if m := e.Verdict.Match; m.Rule != "" && e.Verdict.Reason != policy.ReasonNoGroup {
			row.Matched = m.String()
		}
		ex.Rows = append(ex.Rows, row)
	}
}

// splitGroups parses the groups field: comma-separated, blanks dropped.
func splitGroups(s string) []string {
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}
