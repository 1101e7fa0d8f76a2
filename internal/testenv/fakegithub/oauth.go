package fakegithub

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// device is one device-flow authorization request.
type device struct {
	code, userCode string
	expires        time.Time
	interval       time.Duration
	lastPoll       time.Time
	state          string // pending, approved, denied, used
	login          string
}

// token is anything the fake issued: a user access token, a refresh token
// or an installation token.
type token struct {
	value   string
	kind    string // "user", "refresh", "installation"
	login   string
	expires time.Time // zero: never
	revoked bool
	// auth links a user's access and refresh tokens: one app
	// authorization, revoked together.
	auth *authorization
	// installation tokens
	installation int64
	repos        []string // full names; nil: every repository of the installation
	perms        map[string]string
}

type authorization struct {
	login   string
	access  *token
	refresh *token
}

// form reads the parameters of an OAuth request: query, form body, or JSON
// body, as GitHub accepts all three.
func form(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&m); err != nil {
			return nil, err
		}
		v := r.URL.Query()
		for k, x := range m {
			v.Set(k, fmt.Sprint(x))
		}
		return v, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.Form, nil
}

// oauthReply answers like GitHub's OAuth endpoints: HTTP 200, JSON when
// asked for, form-encoded otherwise.
func oauthReply(w http.ResponseWriter, r *http.Request, status int, v map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "json") {
		writeJSON(w, status, v)
		return
	}
	q := url.Values{}
	for k, x := range v {
		q.Set(k, fmt.Sprint(x))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(q.Encode()))
}

func oauthError(w http.ResponseWriter, r *http.Request, code, desc string) {
	oauthReply(w, r, http.StatusOK, map[string]any{
		"error": code, "error_description": desc,
		"error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow",
	})
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(EndpointDeviceCode)
	f, err := form(r)
	switch {
	case err != nil:
		apiError(w, http.StatusBadRequest, "Problems parsing request")
		return
	case f.Get("client_id") != s.opts.ClientID:
		apiError(w, http.StatusNotFound, "Not Found")
		return
	case s.deviceFlowDisabled:
		oauthReply(w, r, http.StatusBadRequest, map[string]any{"error": "device_flow_disabled", "error_description": "Device Flow must be explicitly enabled for this App"})
		return
	}
	now := s.clock.Now()
	d := &device{
		code:     randomString("", 40),
		userCode: randomString("", 4) + "-" + randomString("", 4),
		expires:  now.Add(DeviceCodeLife), interval: s.opts.Interval, state: "pending",
	}
	d.userCode = strings.ToUpper(d.userCode)
	s.devices[d.code] = d
	s.byUserCode[d.userCode] = d
	s.lastUserCode = d.userCode
	s.secrets = append(s.secrets, d.code)
	oauthReply(w, r, http.StatusOK, map[string]any{
		"device_code": d.code, "user_code": d.userCode,
		"verification_uri": "http://" + r.Host + "/login/device",
		"expires_in":       int(DeviceCodeLife / time.Second), "interval": int(d.interval / time.Second),
	})
}

// SetInterval changes the polling interval GitHub demands, also of device
// flows already started (as when GitHub is under load): a client still
// polling at the old pace gets slow_down.
func (s *Server) SetInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Interval = d
	for _, dev := range s.devices {
		dev.interval = d
	}
}

// LastUserCode returns the user code of the most recent device flow.
func (s *Server) LastUserCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastUserCode
}

// Approve makes the user login (created if new) approve the device flow
// with userCode, as they would at /login/device.
func (s *Server) Approve(userCode, login string) error {
	return s.decide(userCode, login, "approved")
}

// Deny makes the user cancel the device flow with userCode.
func (s *Server) Deny(userCode string) error { return s.decide(userCode, "", "denied") }

func (s *Server) decide(userCode, login, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUserCode[userCode]
	if !ok || d.state != "pending" {
		return fmt.Errorf("fakegithub: no pending device flow with user code %q", userCode)
	}
	if login != "" {
		s.addUser(login)
	}
	d.state, d.login = state, login
	return nil
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := form(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing request")
		return
	}
	switch f.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code":
		s.count(EndpointDevicePoll)
		s.pollDevice(w, r, f)
	case "refresh_token":
		s.count(EndpointRefresh)
		s.refresh(w, r, f)
	default:
		oauthError(w, r, "unsupported_grant_type", "The grant type is not supported.")
	}
}

func (s *Server) pollDevice(w http.ResponseWriter, r *http.Request, f url.Values) {
	now := s.clock.Now()
	if f.Get("client_id") != s.opts.ClientID {
		oauthError(w, r, "incorrect_client_credentials", "The client_id is not valid.")
		return
	}
	if s.deviceFlowDisabled {
		oauthError(w, r, "device_flow_disabled", "Device Flow must be explicitly enabled for this App")
		return
	}
	d, ok := s.devices[f.Get("device_code")]
	if !ok || d.state == "used" {
		oauthError(w, r, "incorrect_device_code", "The device_code provided is not valid.")
		return
	}
	if !now.Before(d.expires) {
		oauthError(w, r, "expired_token", "The device_code has expired.")
		return
	}
	if !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval {
		d.interval += 5 * time.Second
		d.lastPoll = now
		oauthReply(w, r, http.StatusOK, map[string]any{"error": "slow_down", "error_description": "Too many requests have been made in the same timeframe.", "interval": int(d.interval / time.Second)})
		return
	}
	d.lastPoll = now
	switch d.state {
	case "pending":
		oauthError(w, r, "authorization_pending", "The authorization request is still pending.")
	case "denied":
		oauthError(w, r, "access_denied", "The authorization request was denied.")
	case "approved":
		d.state = "used"
		a := &authorization{login: d.login}
		oauthReply(w, r, http.StatusOK, s.issueUserTokens(a, now))
	}
}

// issueUserTokens mints a new access (and refresh) token for a; s.mu held.
func (s *Server) issueUserTokens(a *authorization, now time.Time) map[string]any {
	a.access = &token{value: randomString("ghu_", 36), kind: "user", login: a.login, auth: a}
	s.tokens[a.access.value] = a.access
	s.secrets = append(s.secrets, a.access.value)
	out := map[string]any{"access_token": a.access.value, "token_type": "bearer", "scope": ""}
	if s.nonExpiring {
		a.refresh = nil
		return out
	}
	a.access.expires = now.Add(UserTokenLife)
	a.refresh = &token{value: randomString("ghr_", 76), kind: "refresh", login: a.login, auth: a, expires: now.Add(RefreshTokenLife)}
	s.tokens[a.refresh.value] = a.refresh
	s.secrets = append(s.secrets, a.refresh.value)
	out["expires_in"] = int(UserTokenLife / time.Second)
	out["refresh_token"] = a.refresh.value
	out["refresh_token_expires_in"] = int(RefreshTokenLife / time.Second)
	return out
}

// refresh follows GitHub: the refresh token is single-use, and using it
// ends the old access token too. A client secret is optional for tokens
// from the device flow but must be right when sent.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, f url.Values) {
	now := s.clock.Now()
	if f.Get("client_id") != s.opts.ClientID || (f.Has("client_secret") && f.Get("client_secret") != s.opts.ClientSecret) {
		oauthError(w, r, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	t, ok := s.tokens[f.Get("refresh_token")]
	if !ok || t.kind != "refresh" || t.revoked || !now.Before(t.expires) {
		oauthError(w, r, "bad_refresh_token", "The refresh token passed is incorrect or expired.")
		return
	}
	a := t.auth
	t.revoked = true
	if a.access != nil {
		a.access.revoked = true
	}
	oauthReply(w, r, http.StatusOK, s.issueUserTokens(a, now))
}

// valid reports whether t works now; s.mu held.
func (s *Server) valid(t *token) bool {
	return t != nil && !t.revoked && (t.expires.IsZero() || s.clock.Now().Before(t.expires))
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(EndpointUser)
	t := s.tokens[bearer(r)]
	if !s.valid(t) || t.kind != "user" {
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"login": t.login, "id": s.users[t.login], "type": "User"})
}
