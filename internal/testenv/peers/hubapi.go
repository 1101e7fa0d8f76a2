package peers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// APIError is a hub API answer other than the expected status. Body is the
// hub's JSON error ({"status": ..., "message": ...}), which carries no token.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("peers: hub %s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// API calls the hub REST API as the test-admin service. path is relative to
// APIURL ("/users/alice") and must already be escaped; body, if non-nil, is
// sent as JSON; out, if non-nil, receives the JSON answer. Any status other
// than want is an *APIError.
func (h *Hub) API(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("peers: hub %s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.APIURL+path, rd)
	if err != nil {
		return fmt.Errorf("peers: hub %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "token "+h.AdminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("peers: hub %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("peers: hub %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("peers: hub %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// CreateUser creates the user name (any name the hub accepts; it is
// path-escaped here). An existing user is an *APIError with Status 409.
func (h *Hub) CreateUser(ctx context.Context, name string) error {
	return h.API(ctx, http.MethodPost, "/users/"+url.PathEscape(name), nil, http.StatusCreated, nil)
}

// CreateGroup creates group with the given existing users as members.
func (h *Hub) CreateGroup(ctx context.Context, group string, users ...string) error {
	if users == nil {
		users = []string{}
	}
	body := map[string]any{"users": users}
	return h.API(ctx, http.MethodPost, "/groups/"+url.PathEscape(group), body, http.StatusCreated, nil)
}

// Token mints an API token for user with the hub's default token
// permissions (the "token" role: everything the user may do).
func (h *Hub) Token(ctx context.Context, user string) (string, error) {
	return h.newToken(ctx, user, map[string]any{"note": "credserver peers test"})
}

// TokenWithScopes mints an API token for user restricted to scopes.
// JupyterHub 3 accepts "scopes" in the token request and refuses (400) scopes
// the user does not hold. Whatever the scopes, the token can still read its
// owner's name and groups from /hub/api/user.
func (h *Hub) TokenWithScopes(ctx context.Context, user string, scopes []string) (string, error) {
	if scopes == nil {
		scopes = []string{}
	}
	return h.newToken(ctx, user, map[string]any{"note": "credserver peers test", "scopes": scopes})
}

func (h *Hub) newToken(ctx context.Context, user string, body map[string]any) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	path := "/users/" + url.PathEscape(user) + "/tokens"
	if err := h.API(ctx, http.MethodPost, path, body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", fmt.Errorf("peers: hub POST %s: answer has no token", path)
	}
	return out.Token, nil
}
