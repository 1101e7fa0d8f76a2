package ghapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Installation-token timing and limits.
const (
	// jwtBackdate puts iat in the past, as GitHub advises, against clock
	// drift between us and GitHub.
	jwtBackdate = 60 * time.Second
	// jwtLife is exp - iat; GitHub refuses an exp more than 10 minutes
	// ahead of its clock, so exp is 9 minutes ahead of ours.
	jwtLife = 10 * time.Minute
	// installationTTL is how long an owner's installation id is reused.
	installationTTL = time.Hour
	// tokenMargin: an internal installation token is reused until this
	// close to its expiry.
	tokenMargin = 10 * time.Minute
	// listingTTL is how long an installation's repository list is reused
	// to expand patterns; a repository created since shows up after it.
	listingTTL = 5 * time.Minute
	// maxRepositories is GitHub's limit per installation token.
	maxRepositories = 500
	// maxListPages bounds listing (100 per page).
	maxListPages = 50
)

type cachedInstallation struct {
	id      int64
	fetched time.Time
}

type cachedToken struct {
	token   string
	expires time.Time
}

type cachedListing struct {
	names   []string
	fetched time.Time
}

// appJWT signs the App's JWT: RS256, iss the app id, iat 60 s in the past,
// exp 10 minutes after iat.
func (a *App) appJWT() (string, error) {
	if a.key == nil || a.appID == 0 {
		return "", fmt.Errorf("ghapp: provider %q has no app_id or private key: installation grants cannot work", a.name)
	}
	iat := a.now().Add(-jwtBackdate)
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.appID, 10),
		IssuedAt:  jwt.NewNumericDate(iat),
		ExpiresAt: jwt.NewNumericDate(iat.Add(jwtLife)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("ghapp: signing the app JWT: %w", err)
	}
	return s, nil
}

// appAPI calls the API as the App (JWT auth).
func (a *App) appAPI(ctx context.Context, method, p string, in, out any) error {
	tok, err := a.appJWT()
	if err != nil {
		return err
	}
	_, err = a.callAPI(ctx, method, p, "Bearer "+tok, in, out)
	return err
}

// installationID finds the App's installation on owner (an organization
// or a user account), cached for an hour.
func (a *App) installationID(ctx context.Context, owner string) (int64, error) {
	key := strings.ToLower(owner)
	a.instMu.Lock()
	c, ok := a.installations[key]
	a.instMu.Unlock()
	if ok && a.now().Sub(c.fetched) < installationTTL {
		return c.id, nil
	}
	v, err, _ := a.mints.Do("installation\x00"+key, func() (any, error) {
		var inst struct {
			ID int64 `json:"id"`
		}
		err := a.appAPI(ctx, http.MethodGet, "/orgs/"+url.PathEscape(owner)+"/installation", nil, &inst)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			err = a.appAPI(ctx, http.MethodGet, "/users/"+url.PathEscape(owner)+"/installation", nil, &inst)
		}
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return int64(0), upstreamErr(ae.Status, "not_installed",
				fmt.Sprintf("the GitHub App is not installed on %q; ask your hub admin to install it there", owner), err)
		}
		if err != nil {
			return int64(0), a.apiFailure(err, "looking up the App's installation")
		}
		a.instMu.Lock()
		a.installations[key] = cachedInstallation{id: inst.ID, fetched: a.now()}
		a.instMu.Unlock()
		return inst.ID, nil
	})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

// forgetInstallation drops a cached installation id GitHub no longer knows.
func (a *App) forgetInstallation(owner string) {
	a.instMu.Lock()
	defer a.instMu.Unlock()
	delete(a.installations, strings.ToLower(owner))
}

// apiFailure turns an API error into a *vend.UpstreamError with a reason
// fit for a user; GitHub's own message is kept (it names no secret).
func (a *App) apiFailure(err error, doing string) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Status == http.StatusUnauthorized:
		return upstreamErr(ae.Status, "", fmt.Sprintf("GitHub refused the App's credentials while %s; ask your hub admin to check app_id and private_key_file", doing), err)
	case ae.Status >= 500:
		return upstreamErr(ae.Status, "", fmt.Sprintf("GitHub failed while %s; try again shortly", doing), err)
	}
	return upstreamErr(ae.Status, "", fmt.Sprintf("GitHub refused %s: %s", doing, ae.Message), err)
}

// tokenResponse is GitHub's installation-token answer. Token is secret.
type tokenResponse struct {
	Token        string            `json:"token"`
	ExpiresAt    time.Time         `json:"expires_at"`
	Permissions  map[string]string `json:"permissions"`
	Repositories []struct {
		FullName string `json:"full_name"`
	} `json:"repositories"`
}

// mintInstallationToken asks for a token on installation id, narrowed to
// repos (names without owner; nil: all) and perms (nil: the App's).
func (a *App) mintInstallationToken(ctx context.Context, id int64, repos []string, perms map[string]string) (*tokenResponse, error) {
	body := map[string]any{}
	if repos != nil {
		body["repositories"] = repos
	}
	if len(perms) > 0 {
		body["permissions"] = perms
	}
	var tr tokenResponse
	if err := a.appAPI(ctx, http.MethodPost, "/app/installations/"+strconv.FormatInt(id, 10)+"/access_tokens", body, &tr); err != nil {
		return nil, a.apiFailure(err, "an installation token")
	}
	if tr.Token == "" || tr.ExpiresAt.IsZero() {
		return nil, upstreamErr(http.StatusCreated, "", "GitHub's installation-token answer lacks token or expires_at", nil)
	}
	return &tr, nil
}
