package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/policy"
	"github.com/credserver/credserver/internal/store"
)

// DelegationDeps serve the delegation token endpoints (DESIGN §5).
type DelegationDeps struct {
	// Tokens is the store.
	Tokens store.DelegationTokens
	// MaxLifetime bounds expires_in (delegation.max_lifetime).
	MaxLifetime time.Duration
	// Forget drops a revoked token from this replica's authentication
	// cache, so revocation is immediate here (other replicas: within
	// hub.cache_ttl). May be nil.
	Forget func(id string)
}

// Limits on what a token request may ask.
const (
	maxTokenGrants    = 16
	maxTokenNote      = 200
	maxTokensPerUser  = 100
	defaultTokenLife  = 24 * time.Hour
	tokenIDRandomSize = 10
)

func (s *Server) tokenRoutes(r chi.Router) {
	r.Post("/v1/tokens", s.handle(s.createToken))
	r.Get("/v1/tokens", s.handle(s.listTokens))
	r.Delete("/v1/tokens/{id}", s.handle(s.revokeToken))
}

type createTokenRequest struct {
	Grants    []string `json:"grants"`
	Access    string   `json:"access"`
	ExpiresIn string   `json:"expires_in"`
	Note      string   `json:"note"`
}

type tokenInfo struct {
	ID         string   `json:"id"`
	Grants     []string `json:"grants"`
	Access     string   `json:"access"`
	ExpiresAt  string   `json:"expires_at"`
	Note       string   `json:"note"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"`
}

type createdToken struct {
	ID        string   `json:"id"`
	Token     string   `json:"token"`
	Grants    []string `json:"grants"`
	Access    string   `json:"access"`
	ExpiresAt string   `json:"expires_at"`
	Note      string   `json:"note"`
	CreatedAt string   `json:"created_at"`
}

func badToken(msg string) error {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Msg: msg}
}

// POST {base}/v1/tokens: only with a hub token (identify refuses a
// delegation token here); only grants the caller may have now, at most the
// access each allows; nothing is stored unless all of it is right.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	id, err := s.identify(r)
	if err != nil {
		return err
	}
	req, err := decodeTokenRequest(r)
	if err != nil {
		return err
	}
	ct, err := s.issueToken(r, id, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ct)
	return nil
}

// issueToken checks req against id's policy now and stores a new
// delegation token (the API's POST /v1/tokens and the web page's Create
// token). The secret is in the answer only.
func (s *Server) issueToken(r *http.Request, id auth.Identity, req createTokenRequest) (createdToken, error) {
	access, life, err := s.checkTokenRequest(id, &req)
	if err != nil {
		return createdToken{}, err
	}
	dt := s.delegation
	mine, err := dt.Tokens.DelegationTokensOf(r.Context(), id.Name)
	if err != nil {
		return createdToken{}, fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, err)
	}
	if len(mine) >= maxTokensPerUser {
		return createdToken{}, &apiError{Status: http.StatusConflict, Code: "too_many_tokens",
			Msg: fmt.Sprintf("you have %d delegation tokens, the most allowed; revoke some with 'credctl token revoke ID'", len(mine))}
	}
	// The owner's account as credserver's service token sees it: its
	// "created" tells this account from a later one of the same name.
	acct, err := s.directory.Account(r.Context(), id.Name)
	if errors.Is(err, auth.ErrNoSuchUser) {
		return createdToken{}, fmt.Errorf("%w: the hub no longer lists this user", auth.ErrInvalidToken)
	} else if err != nil {
		return createdToken{}, err
	}
	token, hash := auth.NewDelegationToken()
	rec := &store.DelegationToken{
		ID: newTokenID(), Hash: hash, Owner: id.Name, OwnerCreated: acct.Created,
		Grants: req.Grants, Access: access, Note: req.Note, ExpiresAt: s.now().Add(life),
	}
	if err := dt.Tokens.CreateDelegationToken(r.Context(), rec); err != nil {
		return createdToken{}, fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, err)
	}
	ev := auditEvent{Event: "delegation_token_created", User: id.Name, Grant: strings.Join(rec.Grants, ","), Access: access,
		ExpiresAt: auditTime(rec.ExpiresAt), TokenID: rec.ID}
	if err := s.auditChange(r, ev); err != nil {
		// A token that leaves no trace is not handed out (DESIGN §9):
		// take it back before anyone can hold it.
		if derr := dt.Tokens.DeleteDelegationToken(context.WithoutCancel(r.Context()), id.Name, rec.ID); derr != nil {
			s.log.Error("delegation token not audited and not deleted", "token_id", rec.ID, "error", derr.Error())
		}
		return createdToken{}, &apiError{Status: http.StatusServiceUnavailable, Code: "audit_unavailable",
			Msg: "the audit trail cannot be written, so no token is handed out; try again shortly", Err: err, RetryAfter: 5}
	}
	return createdToken{
		ID: rec.ID, Token: token, Grants: rec.Grants, Access: rec.Access,
		ExpiresAt: formatTime(rec.ExpiresAt), Note: rec.Note, CreatedAt: formatTime(rec.Created),
	}, nil
}

// decodeTokenRequest reads the body strictly: one JSON object, known
// fields only.
func decodeTokenRequest(r *http.Request) (createTokenRequest, error) {
	var req createTokenRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Msg: "request body too large"}
		}
		return req, badToken(`the body must be a JSON object such as {"grants": ["scratch"], "access": "read", "expires_in": "24h", "note": "dask"}`)
	}
	if dec.More() {
		return req, badToken("the body must be a single JSON object")
	}
	return req, nil
}

// checkTokenRequest validates req against the caller's policy now and the
// configured lifetime; it returns the access and the lifetime to give.
func (s *Server) checkTokenRequest(id auth.Identity, req *createTokenRequest) (string, time.Duration, error) {
	if len(req.Grants) == 0 {
		return "", 0, badToken(`"grants" must list at least one grant`)
	}
	if len(req.Grants) > maxTokenGrants {
		return "", 0, badToken(fmt.Sprintf(`"grants" may list at most %d grants`, maxTokenGrants))
	}
	access := policy.AccessRead
	if req.Access != "" {
		a, err := policy.ParseAccess(req.Access)
		if err != nil {
			return "", 0, badToken(fmt.Sprintf("access %q must be read or readwrite", clip(req.Access)))
		}
		access = a
	}
	views := s.policy.Load().Grants(policyUser(id))
	for i, g := range req.Grants {
		if g == "" || slices.Contains(req.Grants[:i], g) {
			return "", 0, badToken(`"grants" must be distinct, non-empty grant names`)
		}
		j := slices.IndexFunc(views, func(v policy.GrantView) bool { return v.Name == g })
		if j < 0 {
			return "", 0, &apiError{Status: http.StatusForbidden, Code: "not_allowed",
				Msg: fmt.Sprintf("grant %q is not one you may use now; run 'credctl whoami' to list yours", clip(g))}
		}
		if max, _ := policy.ParseAccess(views[j].Access); access > max {
			return "", 0, &apiError{Status: http.StatusForbidden, Code: "not_allowed",
				Msg: fmt.Sprintf("grant %q allows at most %s access", clip(g), views[j].Access)}
		}
	}
	maxLife := s.delegation.MaxLifetime
	life := min(defaultTokenLife, maxLife)
	if req.ExpiresIn != "" {
		d, err := parseDuration(req.ExpiresIn)
		if err != nil {
			return "", 0, badToken("expires_in: " + err.Error())
		}
		if d > maxLife {
			return "", 0, badToken(fmt.Sprintf("expires_in %s exceeds this hub's limit of %s (delegation.max_lifetime)", formatDuration(d), formatDuration(maxLife)))
		}
		life = d
	}
	if len(req.Note) > maxTokenNote || !utf8.ValidString(req.Note) || strings.IndexFunc(req.Note, unicode.IsControl) >= 0 {
		return "", 0, badToken(fmt.Sprintf("note must be at most %d bytes of text without control characters", maxTokenNote))
	}
	return access.String(), life, nil
}

// GET {base}/v1/tokens: the caller's tokens, never a secret.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	id, err := s.identify(r)
	if err != nil {
		return err
	}
	toks, err := s.delegation.Tokens.DelegationTokensOf(r.Context(), id.Name)
	if err != nil {
		return fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, err)
	}
	out := struct {
		Tokens []tokenInfo `json:"tokens"`
	}{Tokens: make([]tokenInfo, 0, len(toks))}
	for _, t := range toks {
		info := tokenInfo{ID: t.ID, Grants: t.Grants, Access: t.Access, ExpiresAt: formatTime(t.ExpiresAt), Note: t.Note, CreatedAt: formatTime(t.Created)}
		if !t.LastUsed.IsZero() {
			lu := formatTime(t.LastUsed)
			info.LastUsedAt = &lu
		}
		out.Tokens = append(out.Tokens, info)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// DELETE {base}/v1/tokens/{id}: revokes one of the caller's tokens;
// another user's id is "no such token", and stays as it is.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := s.identify(r)
	if err != nil {
		return err
	}
	if err := s.dropToken(r, id, chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dropToken revokes one of id's delegation tokens (the API's DELETE
// /v1/tokens/{id} and the web page's Revoke).
func (s *Server) dropToken(r *http.Request, id auth.Identity, tid string) error {
	err := s.delegation.Tokens.DeleteDelegationToken(r.Context(), id.Name, tid)
	if errors.Is(err, store.ErrNotFound) {
		return &apiError{Status: http.StatusNotFound, Code: "token_not_found", Msg: "you have no delegation token with this id; 'credctl token list' shows yours"}
	} else if err != nil {
		return fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, err)
	}
	if f := s.delegation.Forget; f != nil {
		f(tid)
	}
	_ = s.auditChange(r, auditEvent{Event: "delegation_token_revoked", User: id.Name, TokenID: tid})
	return nil
}

// newTokenID is a token's public name: 16 lowercase base32 characters.
func newTokenID() string {
	var b [tokenIDRandomSize]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
