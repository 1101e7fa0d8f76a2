package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBody bounds what is read of a hub answer; a user model is a few KiB.
const maxBody = 1 << 20

// hubUser is the part of JupyterHub's GET /user answer credserver uses.
type hubUser struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	Admin  bool     `json:"admin"`
	Groups []string `json:"groups"`
	Scopes []string `json:"scopes"`
}

// fetch asks the hub, retrying once on the failures a second try can fix: a
// transport error or 502/503/504 (a restarting hub or proxy).
func (h *Hub) fetch(ctx context.Context, token string) (Identity, error) {
	id, retry, err := h.fetchOnce(ctx, token)
	if !retry {
		return id, err
	}
	t := time.NewTimer(h.retryDelay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Identity{}, err
	case <-t.C:
	}
	id, _, err = h.fetchOnce(ctx, token)
	if err != nil {
		return Identity{}, fmt.Errorf("%w (after one retry)", err)
	}
	return id, nil
}

// fetchOnce sends one GET {APIURL}/user. retry reports whether the failure
// is worth one more try. The token goes only into the request header; no
// error built here can contain it.
func (h *Hub) fetchOnce(ctx context.Context, token string) (id Identity, retry bool, err error) {
	h.upstream.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.userURL, nil)
	if err != nil {
		return Identity{}, false, fmt.Errorf("%w: building request: %w", ErrHubMisconfigured, err)
	}
	req.Header.Set("Authorization", "token "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return Identity{}, ctx.Err() == nil, fmt.Errorf("%w: %w", ErrHubUnavailable, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}()

	code := resp.StatusCode
	switch {
	case code == http.StatusOK:
		return h.identity(ctx, resp.Body)
	case code == http.StatusForbidden, code == http.StatusUnauthorized:
		// JupyterHub answers 403 for every bad token; 401 means the same.
		return Identity{}, false, fmt.Errorf("%w: hub answered %d", ErrInvalidToken, code)
	case code == http.StatusBadGateway, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return Identity{}, true, fmt.Errorf("%w: hub answered %d", ErrHubUnavailable, code)
	case code >= 500, code == http.StatusTooManyRequests:
		return Identity{}, false, fmt.Errorf("%w: hub answered %d", ErrHubUnavailable, code)
	case code >= 300 && code < 400:
		return Identity{}, false, fmt.Errorf("%w: hub answered %d (redirects are not followed)", ErrHubMisconfigured, code)
	default:
		return Identity{}, false, fmt.Errorf("%w: hub answered %d", ErrHubMisconfigured, code)
	}
}

// identity reads and checks a 200 answer.
func (h *Hub) identity(ctx context.Context, body io.Reader) (Identity, bool, error) {
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return Identity{}, ctx.Err() == nil, fmt.Errorf("%w: reading hub answer: %w", ErrHubUnavailable, err)
	}
	if len(raw) > maxBody {
		return Identity{}, false, fmt.Errorf("%w: hub answer larger than %d bytes", ErrHubMisconfigured, maxBody)
	}
	var u *hubUser
	if err := json.Unmarshal(raw, &u); err != nil {
		return Identity{}, false, fmt.Errorf("%w: hub answer is not a user model: %w", ErrHubMisconfigured, err)
	}
	if u == nil {
		return Identity{}, false, fmt.Errorf("%w: hub answer is null", ErrHubMisconfigured)
	}
	switch u.Kind {
	case "user":
	case "service":
		return Identity{}, false, fmt.Errorf("%w: the token belongs to a service, not a user", ErrForbidden)
	default:
		return Identity{}, false, fmt.Errorf("%w: the hub does not say the token belongs to a user", ErrForbidden)
	}
	if u.Name == "" {
		return Identity{}, false, fmt.Errorf("%w: hub answer has no user name", ErrHubMisconfigured)
	}
	if err := h.checkServiceAccess(u.Scopes); err != nil {
		return Identity{}, false, err
	}
	var missing []string
	for _, s := range h.requireScopes {
		if !slices.Contains(u.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return Identity{}, false, fmt.Errorf("%w: the token lacks the required scope(s) %s",
			ErrForbidden, strings.Join(missing, ", "))
	}
	var scopes []string
	if len(h.requireScopes) > 0 {
		scopes = h.requireScopes // shared, read-only: result() hands out copies
	}
	return Identity{Name: u.Name, Groups: u.Groups, Scopes: scopes, Admin: u.Admin}, false, nil
}
