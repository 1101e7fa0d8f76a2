package web

import (
	"context"
	"crypto/subtle"
	"github.com/credserver/credserver/internal/auth"
	"net/http"
	"net/url"
	"strings"
)

type nonceKey struct{}

// headers sets the security headers of every page response and a fresh
// script nonce, which the templates read from the request context.
func (p *Page) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := randomString(18)
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce)))
	})
}

func nonceOf(r *http.Request) string {
	n, _ := r.Context().Value(nonceKey{}).(string)
	return n
}

// sameOrigin refuses a state-changing request that a browser says comes
// from elsewhere. Sec-Fetch-Site, where sent, decides: only same-origin
// passes (same-site is another origin too, e.g. another port). Without it,
// an Origin must be this page's or the hub's public one; "null" (which
// browsers also send for this page's own forms under Referrer-Policy:
// no-referrer) is refused then. Clients that send neither header are left
// to the CSRF token.
func (p *Page) sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if p.opts.HubPublicURL != "" {
		if hu, err := url.Parse(p.opts.HubPublicURL); err == nil && strings.EqualFold(hu.Scheme+"://"+hu.Host, o) {
			return true
		}
	}
	return false
}

// checkCSRF reports whether r carries the session's CSRF token, in the
// X-CSRF-Token header (scripts) or the csrf form field (plain forms), and
// comes from this origin.
func (p *Page) checkCSRF(r *http.Request, s session) bool {
	if !p.sameOrigin(r) {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && s.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// secure reports whether the browser reached us over https (directly or
// through the hub's proxy), so cookies must be Secure.
func (p *Page) secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(p.opts.HubPublicURL, "https://")
}

// form is a state-changing action of the page: it runs only for a live
// session and a request carrying that session's CSRF token from the page's
// own origin; anything else is refused before fn sees it.
func (p *Page) form(fn func(w http.ResponseWriter, r *http.Request, s session, id auth.Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, id, err := p.current(w, r)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if !p.checkCSRF(r, s) {
			p.forbidden(w, r)
			return
		}
		fn(w, r, s, id)
	}
}
