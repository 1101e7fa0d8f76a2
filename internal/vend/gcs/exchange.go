package gcs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/credserver/credserver/internal/vend"
)

// Upstream names in *vend.UpstreamError: Google's STS, which does the
// exchange, and Google's OAuth service (or the metadata server), which
// gives the root token.
const (
	upstreamSTS   = "gcs-sts"
	upstreamOAuth = "gcs-oauth"
)

const (
	// maxAnswer bounds an STS answer; real ones are about 1 KiB.
	maxAnswer = 64 << 10
	// maxReason bounds the part of an upstream's message shown to clients.
	maxReason = 300
)

// exchange is the transport of one token exchange. It binds the request to
// the caller's context (downscope posts without one), bounds the answer and
// keeps it, so that Issue can map failures from the status and OAuth error
// body instead of from downscope's error text, and read expires_in against
// the injected clock.
type exchange struct {
	ctx  context.Context
	base http.RoundTripper

	mu     sync.Mutex
	status int
	answer []byte
	err    error
}

func (x *exchange) RoundTrip(req *http.Request) (*http.Response, error) {
	base := x.base
	if base == nil {
		base = http.DefaultTransport
	}
	// Either context ends the call: the caller's, or the request's own,
	// which carries the http.Client's timeout. The answer is read in full
	// before cancel runs.
	ctx, cancel := context.WithCancel(x.ctx)
	defer cancel()
	defer context.AfterFunc(req.Context(), cancel)()
	resp, err := base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		x.record(0, nil, err)
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(b) > maxAnswer {
		err = fmt.Errorf("answer over %d bytes", maxAnswer)
	}
	if err != nil {
		x.record(resp.StatusCode, nil, err)
		return nil, err
	}
	x.record(resp.StatusCode, b, nil)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func (x *exchange) record(status int, answer []byte, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.status, x.answer, x.err = status, answer, err
}

func (x *exchange) result() (status int, answer []byte, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status, x.answer, x.err
}

// expiry is now plus the answer's expires_in or, for an answer without
// one (tokens derived from a user's token), the root token's expiry.
func (x *exchange) expiry(now, rootExpiry time.Time) (time.Time, error) {
	_, answer, _ := x.result()
	var a struct {
		ExpiresIn int64 `json:"expires_in"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return time.Time{}, &vend.UpstreamError{Upstream: upstreamSTS, Status: http.StatusOK, Reason: "Google STS answered with something that is not a token", Err: err}
	}
	switch {
	case a.ExpiresIn > 0 && a.ExpiresIn < int64(24*time.Hour/time.Second):
		return now.Add(time.Duration(a.ExpiresIn) * time.Second).UTC(), nil
	case a.ExpiresIn == 0 && !rootExpiry.IsZero():
		return rootExpiry.UTC(), nil
	}
	return time.Time{}, &vend.UpstreamError{Upstream: upstreamSTS, Status: http.StatusOK, Reason: "Google STS returned a token without a usable lifetime",
		Err: fmt.Errorf("expires_in %d, root token expiry %v", a.ExpiresIn, rootExpiry)}
}

// rootRecorder passes the root token through and keeps it (for its expiry
// and to scrub it from messages) or its error (which downscope flattens).
type rootRecorder struct {
	src oauth2.TokenSource

	mu  sync.Mutex
	tok *oauth2.Token
	err error
}

func (r *rootRecorder) Token() (*oauth2.Token, error) {
	tok, err := r.src.Token()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tok, r.err = tok, err
	return tok, err
}

func (r *rootRecorder) expiry() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok == nil {
		return time.Time{}
	}
	return r.tok.Expiry
}

// oauthError is RFC 6749's error answer, which Google's STS and token
// endpoint both send.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// mapError turns a failed exchange into a *vend.UpstreamError, or into the
// caller's context error when the caller went away.
func mapError(ctx context.Context, x *exchange, root *rootRecorder, err error) error {
	root.mu.Lock()
	rootErr, rootTok := root.err, root.tok
	root.mu.Unlock()
	if rootErr != nil {
		return rootError(rootErr)
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("gcs: token exchange: %w", ctx.Err())
	}
	var secret string
	if rootTok != nil {
		secret = rootTok.AccessToken
	}
	status, answer, xerr := x.result()
	switch {
	case status == 0:
		if xerr == nil {
			xerr = err
		}
		return &vend.UpstreamError{Upstream: upstreamSTS, Reason: "Google STS unreachable", Err: xerr}
	case xerr != nil:
		return &vend.UpstreamError{Upstream: upstreamSTS, Status: status, Reason: "Google STS sent an unreadable answer", Err: xerr}
	case status == http.StatusOK:
		return &vend.UpstreamError{Upstream: upstreamSTS, Status: status, Reason: "Google STS answered with something that is not a token", Err: err}
	}
	var oe oauthError
	_ = json.Unmarshal(answer, &oe)
	reason := safeReason(oe.Description, secret)
	if reason == "" {
		reason = fmt.Sprintf("Google STS answered HTTP %d", status)
	}
	return &vend.UpstreamError{Upstream: upstreamSTS, Status: status, Code: safeReason(oe.Code, secret), Reason: reason, Err: err}
}

// rootError maps a failure to get the root token itself.
func rootError(err error) error {
	ue := &vend.UpstreamError{Upstream: upstreamOAuth, Reason: "could not get credserver's own Google access token", Err: err}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil {
			ue.Status = re.Response.StatusCode
		}
		oe := oauthError{Code: re.ErrorCode, Description: re.ErrorDescription}
		if oe.Code == "" {
			_ = json.Unmarshal(re.Body, &oe)
		}
		ue.Code = safeReason(oe.Code, "")
		if d := safeReason(oe.Description, ""); d != "" {
			ue.Reason += ": " + d
		}
	}
	return ue
}

// safeReason makes an upstream message fit for a client: one line, no
// control characters, never the given secret, at most maxReason bytes.
func safeReason(s, secret string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "<token>")
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xc0 != 0x80 }
