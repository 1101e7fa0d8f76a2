package ghapp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// OAuth error codes GitHub documents for the device flow and refresh.
const (
	codePending        = "authorization_pending"
	codeSlowDown       = "slow_down"
	codeExpired        = "expired_token"
	codeDenied         = "access_denied"
	codeDisabled       = "device_flow_disabled"
	codeBadRefresh     = "bad_refresh_token"
	codeBadCredentials = "incorrect_client_credentials"
)

// oauthReason turns an OAuth error that ends a flow into a sentence for the
// user (an admin's problem in most cases).
func oauthReason(code string) string {
	switch code {
	case codeDisabled:
		return "the GitHub App does not allow the device flow; ask your hub admin to enable \"Device Flow\" in the App's settings"
	case codeBadCredentials:
		return "GitHub did not accept the App's client_id (or client secret); ask your hub admin to check the github provider"
	case "unsupported_grant_type", "incorrect_device_code":
		return "GitHub refused the login request (" + code + ")"
	}
	return "GitHub refused the request (" + code + ")"
}

// asUpstream maps any failure of an OAuth call to a *vend.UpstreamError.
func asUpstream(err error) error {
	var oe *oauthError
	if errors.As(err, &oe) {
		return upstreamErr(http.StatusOK, oe.Code, oauthReason(oe.Code), err)
	}
	return err
}

func (a *App) requestDeviceCode(ctx context.Context) (*oauthResponse, error) {
	r, err := a.postOAuth(ctx, "/login/device/code", url.Values{"client_id": {a.clientID}})
	if err != nil {
		return nil, asUpstream(err)
	}
	if r.DeviceCode == "" || r.UserCode == "" || r.VerificationURI == "" {
		return nil, upstreamErr(http.StatusOK, "", "GitHub's device-code answer lacks device_code, user_code or verification_uri", nil)
	}
	return r, nil
}

// pollDeviceToken asks once whether the user approved; the flow-state
// errors (authorization_pending, slow_down, ...) come back as *oauthError.
func (a *App) pollDeviceToken(ctx context.Context, deviceCode string) (*oauthResponse, error) {
	return a.postOAuth(ctx, "/login/oauth/access_token", url.Values{
		"client_id":   {a.clientID},
		"device_code": {deviceCode},
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
	})
}

// refreshUserToken spends refreshToken (GitHub makes it single-use) for a
// new access and refresh token.
func (a *App) refreshUserToken(ctx context.Context, refreshToken string) (*oauthResponse, error) {
	form := url.Values{
		"client_id":     {a.clientID},
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}
	if a.clientSecret != "" {
		form.Set("client_secret", a.clientSecret)
	}
	r, err := a.postOAuth(ctx, "/login/oauth/access_token", form)
	if err != nil {
		return nil, err
	}
	if r.AccessToken == "" {
		return nil, upstreamErr(http.StatusOK, "", "GitHub's refresh answer holds no access token", nil)
	}
	return r, nil
}

// githubUser returns the login and id of the account a user token belongs
// to.
func (a *App) githubUser(ctx context.Context, accessToken string) (string, int64, error) {
	var u struct {
		Login string `json:"login"`
		ID    int64  `json:"id"`
	}
	if _, err := a.callAPI(ctx, http.MethodGet, "/user", "Bearer "+accessToken, nil, &u); err != nil {
		return "", 0, err
	}
	return u.Login, u.ID, nil
}

// revokeGrant deletes the user's whole authorization of the App at GitHub
// (access and refresh tokens). It needs the client secret; without one it
// reports false and does nothing.
func (a *App) revokeGrant(ctx context.Context, accessToken string) (bool, error) {
	if a.clientSecret == "" {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := newJSONRequest(ctx, http.MethodDelete, a.apiURL+"/applications/"+url.PathEscape(a.clientID)+"/grant",
		map[string]string{"access_token": accessToken})
	if err != nil {
		return false, err
	}
	req.SetBasicAuth(a.clientID, a.clientSecret)
	status, _, err := a.do(req, "/applications/{client_id}/grant")
	switch {
	case err != nil:
		return false, err
	case status == http.StatusNoContent:
		return true, nil
	case status == http.StatusNotFound || status == http.StatusUnprocessableEntity:
		// The authorization is already gone (the user revoked it at
		// GitHub, or the token expired): nothing left to revoke.
		return false, nil
	}
	return false, upstreamErr(status, "", "GitHub refused to revoke the authorization", nil)
}
