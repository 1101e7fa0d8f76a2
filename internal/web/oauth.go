package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credserver/credserver/internal/auth"
)

// Cookie names. The session cookie is scoped to BasePath; the state cookie
// to the callback only.
const (
	sessionCookie = "credserver-session"
	stateCookie   = "credserver-oauth-state"
	stateLifetime = 10 * time.Minute
)

// login sends the browser to the hub's authorize endpoint with a fresh
// state, remembered in a short-lived cookie bound to this browser.
func (p *Page) login(w http.ResponseWriter, r *http.Request) {
	st := randomString(32)
	v, err := p.seal.seal(stateCookie, oauthState{State: st}, p.now().Add(stateLifetime))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: v, Path: p.opts.BasePath + "/oauth_callback",
		MaxAge: int(stateLifetime / time.Second), HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"client_id":     {p.clientID},
		"redirect_uri":  {p.opts.RedirectURI},
		"response_type": {"code"},
		"state":         {st},
	}
	http.Redirect(w, r, p.authzURL+"?"+q.Encode(), http.StatusFound)
}

// callback is GET {base}/oauth_callback?code=…&state=…: the state must be
// the one this browser's cookie holds; the code is exchanged for a hub
// token, which must authenticate like any other before a session exists.
func (p *Page) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie(stateCookie)
	var st oauthState
	if err != nil || p.seal.open(stateCookie, c.Value, p.now(), &st) != nil ||
		subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 || st.State == "" {
		p.errorPage(w, r, http.StatusBadRequest, "This login link is not valid in this browser (it is stale or was started elsewhere). Open the page again to log in.")
		return
	}
	// The state is single-use.
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: p.opts.BasePath + "/oauth_callback", MaxAge: -1, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		p.errorPage(w, r, http.StatusForbidden, "The hub did not authorize this page. Open the page again to retry.")
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 512 {
		p.errorPage(w, r, http.StatusBadRequest, "The hub sent no authorization code. Open the page again to log in.")
		return
	}
	tok, err := p.exchange(r.Context(), code)
	if err != nil {
		p.log.Warn("web: oauth token exchange failed", "error", err.Error())
		p.errorPage(w, r, http.StatusBadGateway, "The hub did not complete the login. Open the page again to retry; if it keeps failing, ask your hub admin.")
		return
	}
	if _, err := p.be.Authenticate(r.Context(), tok); err != nil {
		p.fail(w, r, err)
		return
	}
	if err := p.setSession(w, r, session{Token: tok, CSRF: randomString(32)}); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.opts.BasePath+"/", http.StatusSeeOther)
}

// tokenReply is the hub's answer at /oauth2/token.
type tokenReply struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// exchange trades an authorization code for a hub token. Errors never hold
// the code, the secret or the token.
func (p *Page) exchange(ctx context.Context, code string) (string, error) {
	form := url.Values{
		"client_id":     {p.clientID},
		"client_secret": {p.opts.ClientSecret},
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.opts.RedirectURI},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.opts.HubAPIURL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", errors.New("building the token request failed")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST hub /oauth2/token: %w", scrub(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST hub /oauth2/token: status %d", resp.StatusCode)
	}
	var tr tokenReply
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", errors.New("POST hub /oauth2/token: no access_token in the answer")
	}
	if _, err := auth.TokenFromHeader("token " + tr.AccessToken); err != nil {
		return "", errors.New("POST hub /oauth2/token: the token is malformed")
	}
	return tr.AccessToken, nil
}

// scrub keeps the transport's reason but not the URL it failed on.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (p *Page) setSession(w http.ResponseWriter, r *http.Request, s session) error {
	v, err := p.seal.seal(sessionCookie, s, p.now().Add(p.opts.SessionLifetime))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: v, Path: p.cookie,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (p *Page) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: p.cookie, MaxAge: -1, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
}

// errNoSession means the request has no session cookie that opens.
var errNoSession = errors.New("web: no session")

// current opens the session cookie and checks its hub token through the
// authenticator, as every page load and action does: a token the hub no
// longer accepts ends the session (the cookie is cleared).
func (p *Page) current(w http.ResponseWriter, r *http.Request) (session, auth.Identity, error) {
	var s session
	c, err := r.Cookie(sessionCookie)
	if err != nil || p.seal.open(sessionCookie, c.Value, p.now(), &s) != nil || s.Token == "" {
		return session{}, auth.Identity{}, errNoSession
	}
	if strings.HasPrefix(s.Token, "csd_") {
		// A delegation token never opens the page (DESIGN §5); a session
		// only ever holds what the hub's OAuth handed out.
		return session{}, auth.Identity{}, errNoSession
	}
	id, err := p.be.Authenticate(r.Context(), s.Token)
	if err != nil {
		if errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrNoToken) {
			p.clearSession(w, r)
			return session{}, auth.Identity{}, errNoSession
		}
		return session{}, auth.Identity{}, err
	}
	if id.Delegation != nil {
		return session{}, auth.Identity{}, errNoSession
	}
	return s, id, nil
}

// logout is POST {base}/web/logout: the cookie goes. The hub token stays
// valid until the hub expires it (JupyterHub 3 offers no revocation to
// services); the hub's own logout is separate.
func (p *Page) logout(w http.ResponseWriter, r *http.Request, s session, _ auth.Identity) {
	p.clearSession(w, r)
	p.errorPage(w, r, http.StatusOK, "You are logged out of this page.")
}
