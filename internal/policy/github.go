package policy

import (
	"fmt"

	"github.com/credserver/credserver/internal/config"
)

// GitHubUserGrant decides u's GitHub grant with mode user, the one a
// device-flow login or an unlink is for: the grant called name, or, when
// name is "", the first such grant u may use, in config order.
//
// Errors: those of [Policy.Decide] for a named grant, a *[RequestError]
// for a named grant that is not a github grant with mode user, and
// ErrNotAllowed (wrapped) when u has no such grant at all.
func (p *Policy) GitHubUserGrant(u User, name string) (Decision, error) {
	if name != "" {
		d, err := p.Decide(u, Request{Grant: name})
		if err != nil {
			return Decision{}, err
		}
		if d.GitHub == nil || d.GitHub.Mode != GitHubUser {
			return Decision{}, &RequestError{Param: "grant", Msg: fmt.Sprintf("grant %q is not a GitHub grant with mode user", clip(name))}
		}
		return d, nil
	}
	for _, i := range p.index.candidates(u) {
		g := p.grants[i]
		if g.github == nil || g.github.Mode != GitHubUser {
			continue
		}
		if v := g.check(u, Request{}); v.Allowed() {
			return g.resolve(u, v), nil
		}
	}
	return Decision{}, fmt.Errorf("%w: the hub policy gives you no GitHub grant with mode user", ErrNotAllowed)
}

// GitHubGrants returns the names of the github grants on provider that u
// may use, in config order: whose cached tokens a change of u's GitHub
// link makes stale.
func (p *Policy) GitHubGrants(u User, provider string) []string {
	var out []string
	for _, i := range p.index.candidates(u) {
		g := p.grants[i]
		if g.typ != config.TypeGitHub || g.provider != provider {
			continue
		}
		if g.check(u, Request{}).Allowed() {
			out = append(out, g.name)
		}
	}
	return out
}
