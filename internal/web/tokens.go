package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/credserver/credserver/internal/auth"
)

// Tokens is the delegation-token store as the page uses it (POST, GET and
// DELETE {base}/v1/tokens behind the API). The page shows the section only
// when [Page.SetTokens] wired one.
type Tokens interface {
	List(ctx context.Context, id auth.Identity) ([]TokenInfo, error)
	// Create makes a token for id; the secret is in the answer only.
	Create(r *http.Request, id auth.Identity, req TokenRequest) (CreatedToken, error)
	// Revoke revokes one of id's tokens.
	Revoke(r *http.Request, id auth.Identity, tokenID string) error
}

// TokenRequest is the Create token form.
type TokenRequest struct {
	Grants []string
	Access string
	// ExpiresIn is the form's text ("24h"); "" means the server's default.
	ExpiresIn string
	Note      string
}

// TokenInfo is one listed token: never its secret.
type TokenInfo struct {
	ID, Access, Note               string
	Grants                         []string
	ExpiresAt, CreatedAt, LastUsed time.Time
}

// CreatedToken is a token just made; Token is shown this once.
type CreatedToken struct {
	TokenInfo
	Token string
}

type tokensView struct {
	List   []tokenRow
	Grants []string
	New    *createdToken
	Error  string
}

type tokenRow struct {
	ID, Grants, Access, Note, ExpiresAt, CreatedAt, LastUsed string
}

type createdToken struct {
	ID, Token, Grants, Access, ExpiresAt string
}

func (p *Page) tokensView(r *http.Request, id auth.Identity, grants []grantRow, created *createdToken) *tokensView {
	tv := &tokensView{New: created}
	for _, g := range grants {
		if g.Provider != "github" {
			tv.Grants = append(tv.Grants, g.Name)
		}
	}
	list, err := p.tokens.List(r.Context(), id)
	if err != nil {
		tv.Error = p.be.Describe(err).Msg
		return tv
	}
	for _, t := range list {
		row := tokenRow{ID: t.ID, Grants: joinComma(t.Grants), Access: t.Access, Note: t.Note,
			ExpiresAt: fmtTime(t.ExpiresAt), CreatedAt: fmtTime(t.CreatedAt), LastUsed: fmtTime(t.LastUsed)}
		if row.LastUsed == "" {
			row.LastUsed = "never"
		}
		tv.List = append(tv.List, row)
	}
	return tv
}

// createToken is POST {base}/web/tokens: the form's grants, access,
// expires_in and note. The new token is in this one answer only.
func (p *Page) createToken(w http.ResponseWriter, r *http.Request, s session, id auth.Identity) {
	if p.tokens == nil {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseForm()
	req := TokenRequest{Grants: r.PostForm["grant"], Access: r.PostFormValue("access"), Note: r.PostFormValue("note"),
		ExpiresIn: strings.TrimSpace(r.PostFormValue("expires_in"))}
	ct, err := p.tokens.Create(r, id, req)
	if err != nil {
		pr := p.be.Describe(err)
		if pr.Status >= 500 {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, s, id, extras{message: "No token was created: " + pr.Msg})
		return
	}
	p.render(w, r, s, id, extras{newToken: &createdToken{ID: ct.ID, Token: ct.Token, Grants: joinComma(ct.Grants), Access: ct.Access, ExpiresAt: fmtTime(ct.ExpiresAt)}})
}

// revokeToken is POST {base}/web/tokens/revoke with id.
func (p *Page) revokeToken(w http.ResponseWriter, r *http.Request, s session, id auth.Identity) {
	if p.tokens == nil {
		http.NotFound(w, r)
		return
	}
	if err := p.tokens.Revoke(r, id, r.PostFormValue("id")); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.opts.BasePath+"/", http.StatusSeeOther)
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
