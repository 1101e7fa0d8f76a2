package ghapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds every answer read from GitHub; real ones are a few KiB,
// repository listings up to some hundred.
const maxBody = 4 << 20

// oauthResponse is every field GitHub's device-code and token endpoints
// may return. It holds secrets: never log it.
type oauthResponse struct {
	// device code
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	Interval        int    `json:"interval"`
	// token
	AccessToken           string `json:"access_token"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	// error
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// postOAuth posts form to {web_url}{path}. GitHub answers OAuth errors with
// 200 and {"error": ...} (some with 4xx): those come back as *oauthError;
// other failures as *vend.UpstreamError.
func (a *App) postOAuth(ctx context.Context, path string, form url.Values) (*oauthResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.webURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("ghapp: building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, body, err := a.do(req, path)
	if err != nil {
		return nil, err
	}
	var out oauthResponse
	if jerr := json.Unmarshal(body, &out); jerr != nil {
		return nil, upstreamErr(status, "", fmt.Sprintf("GitHub answered %s with something other than JSON; check web_url", path),
			fmt.Errorf("HTTP %d, %d bytes not JSON", status, len(body)))
	}
	if out.Error != "" {
		return nil, &oauthError{Code: out.Error, Description: clip(out.ErrorDescription), Interval: out.Interval}
	}
	if status != http.StatusOK {
		return nil, upstreamErr(status, "", fmt.Sprintf("GitHub answered %s with HTTP %d; check web_url and client_id", path, status), nil)
	}
	return &out, nil
}

// callAPI sends a JSON request to {api_url}{path} with the Authorization
// header auth and decodes a 2xx answer into out (when not nil). Non-2xx
// answers come back as *apiError.
func (a *App) callAPI(ctx context.Context, method, path, auth string, in, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("ghapp: encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.apiURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("ghapp: building request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	route := method + " " + routeOf(path)
	resp, err := a.roundTrip(req, route)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, upstreamErr(0, "", "the answer from GitHub was cut off", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		return nil, &apiError{Status: resp.StatusCode, Message: clip(e.Message)}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, upstreamErr(resp.StatusCode, "", fmt.Sprintf("GitHub answered %s with malformed JSON; check api_url", route), err)
		}
	}
	return resp.Header, nil
}

// do sends req and reads the bounded body.
func (a *App) do(req *http.Request, route string) (int, []byte, error) {
	resp, err := a.roundTrip(req, req.Method+" "+route)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, upstreamErr(0, "", "the answer from GitHub was cut off", err)
	}
	return resp.StatusCode, b, nil
}

// roundTrip performs one call and logs its outcome (route and status only:
// bodies may hold tokens).
func (a *App) roundTrip(req *http.Request, route string) (*http.Response, error) {
	start := a.now()
	resp, err := a.http.Do(req)
	if err != nil {
		a.log.LogAttrs(req.Context(), slog.LevelDebug, "github call failed", slog.String("route", route), slog.String("error", transportReason(err)))
		return nil, upstreamErr(0, "", "GitHub could not be reached", errors.New(transportReason(err)))
	}
	a.log.LogAttrs(req.Context(), slog.LevelDebug, "github call", slog.String("route", route),
		slog.Int("status", resp.StatusCode), slog.Duration("took", a.now().Sub(start)))
	return resp, nil
}

// transportReason describes a transport failure without the request URL's
// query (none of ours carries a secret, but the rule is cheap to keep).
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out after " + callTimeout.String()
	}
	return err.Error()
}

// routeOf turns a concrete API path into its route for logs and errors:
// numeric ids become {id}, and the query goes.
func routeOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// clip bounds text from GitHub that ends up in messages.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// secondsFrom returns now + n seconds, or the zero time for n <= 0.
func secondsFrom(now time.Time, n int64) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(n) * time.Second)
}

func newJSONRequest(ctx context.Context, method, target string, in any) (*http.Request, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("ghapp: encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("ghapp: building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/vnd.github+json")
	return req, nil
}
