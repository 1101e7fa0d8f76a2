package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/web"
)

// webBackend is the server as the web page sees it: the same
// authenticator, policy, GitHub links, rate limits, audit trail and error
// descriptions as the API.
type webBackend struct{ s *Server }

var _ web.Backend = webBackend{}

// mountWeb builds the page from opts and registers its routes on r (the
// router at BasePath).
func (s *Server) mountWeb(r chi.Router, opts web.Options) error {
	opts.Probe = http.HandlerFunc(s.root)
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	if opts.Now == nil {
		opts.Now = s.now
	}
	p, err := web.New(opts, webBackend{s})
	if err != nil {
		return err
	}
	s.page = p
	if s.delegation != nil {
		p.SetTokens(webTokens{s})
	}
	p.Mount(r)
	return nil
}

func (b webBackend) Authenticate(ctx context.Context, token string) (auth.Identity, error) {
	return b.s.auth.Authenticate(ctx, token)
}

func (b webBackend) Policy() *policy.Policy { return b.s.policy.Load() }

func (b webBackend) GitHub(r *http.Request, id auth.Identity) *web.GitHubLink {
	if b.s.github == nil {
		return nil
	}
	d, err := b.s.githubUserGrant(id, nil)
	if err != nil {
		return nil
	}
	out := &web.GitHubLink{Grant: d.Grant, Provider: d.Provider}
	info, err := b.s.github.Link(r.Context(), d.Provider, id.Name)
	if err != nil {
		b.s.log.Warn("web: reading the github link failed", "user", id.Name, "error", err.Error())
		return out
	}
	out.Linked, out.Login, out.ExpiresAt = info.Linked, info.Login, info.ExpiresAt
	return out
}

func (b webBackend) StartGitHubLogin(r *http.Request, id auth.Identity) (ghapp.Login, error) {
	s := b.s
	if ok, wait := s.userLimit.allow(id.Name, s.now); !ok {
		s.metrics.rateLimited("user")
		return ghapp.Login{}, tooManyRequests("too many requests; wait before starting another GitHub login", wait)
	}
	d, err := s.githubUserGrant(id, nil)
	if err != nil {
		return ghapp.Login{}, err
	}
	l, err := s.github.StartLogin(r.Context(), d.Provider, id.Name)
	if err != nil {
		return ghapp.Login{}, err
	}
	s.auditGitHub(r, "github_login_started", id.Name, d.Grant, "")
	return l, nil
}

func (b webBackend) PollGitHubLogin(r *http.Request, id auth.Identity, loginID string) (ghapp.LoginStatus, error) {
	s := b.s
	st, err := s.github.PollLogin(r.Context(), id.Name, loginID)
	if err != nil {
		return st, err
	}
	if st.Status == "complete" {
		s.forgetGitHub(id, st.Provider)
		s.auditGitHub(r, "github_linked", id.Name, "", st.Login)
	}
	return st, nil
}

func (b webBackend) UnlinkGitHub(r *http.Request, id auth.Identity) error {
	s := b.s
	d, err := s.githubUserGrant(id, nil)
	if err != nil {
		return err
	}
	res, err := s.github.Unlink(r.Context(), d.Provider, id.Name)
	if err != nil {
		return err
	}
	s.forgetGitHub(id, d.Provider)
	if res.WasLinked {
		s.auditGitHub(r, "github_unlinked", id.Name, d.Grant, "")
	}
	return nil
}

// Account reads a hub user with credserver's own service token.
func (b webBackend) Account(ctx context.Context, name string) (web.Account, error) {
	if b.s.directory == nil {
		return web.Account{}, web.ErrNoDirectory
	}
	a, err := b.s.directory.Account(ctx, name)
	if errors.Is(err, auth.ErrNoSuchUser) {
		return web.Account{}, fmt.Errorf("%w: %w", web.ErrNoSuchUser, err)
	}
	if err != nil {
		return web.Account{}, err
	}
	return web.Account{Name: a.Name, Groups: a.Groups, Admin: a.Admin}, nil
}

func (b webBackend) Describe(err error) web.Problem {
	ae := toAPIError(err)
	return web.Problem{Status: ae.Status, Code: ae.Code, Msg: ae.Msg, RetryAfter: ae.RetryAfter}
}

// webTokens are the delegation tokens as the page shows them: the same
// checks, store and audit trail as /v1/tokens.
type webTokens struct{ s *Server }

var _ web.Tokens = webTokens{}

func (t webTokens) List(ctx context.Context, id auth.Identity) ([]web.TokenInfo, error) {
	toks, err := t.s.delegation.Tokens.DelegationTokensOf(ctx, id.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, err)
	}
	out := make([]web.TokenInfo, 0, len(toks))
	for _, tk := range toks {
		out = append(out, web.TokenInfo{ID: tk.ID, Access: tk.Access, Note: tk.Note, Grants: tk.Grants,
			ExpiresAt: tk.ExpiresAt, CreatedAt: tk.Created, LastUsed: tk.LastUsed})
	}
	return out, nil
}

func (t webTokens) Create(r *http.Request, id auth.Identity, req web.TokenRequest) (web.CreatedToken, error) {
	ct, err := t.s.issueToken(r, id, createTokenRequest{Grants: req.Grants, Access: req.Access, ExpiresIn: req.ExpiresIn, Note: req.Note})
	if err != nil {
		return web.CreatedToken{}, err
	}
	exp, _ := time.Parse(time.RFC3339, ct.ExpiresAt)
	return web.CreatedToken{Token: ct.Token, TokenInfo: web.TokenInfo{ID: ct.ID, Access: ct.Access, Note: ct.Note, Grants: ct.Grants, ExpiresAt: exp}}, nil
}

func (t webTokens) Revoke(r *http.Request, id auth.Identity, tokenID string) error {
	return t.s.dropToken(r, id, tokenID)
}
