package credctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds what credctl reads from the server; real answers are a few
// KiB.
const maxBody = 1 << 20

// Client calls the credserver HTTP API as one user. It is safe for
// concurrent use. The token is sent only in the Authorization header, never
// in a URL, and never appears in an error.
type Client struct {
	// BaseURL is the server including its base path, without a trailing
	// slash (http://host/services/credserver); API paths are appended.
	BaseURL *url.URL
	// Token is the JupyterHub API token.
	Token string
	// HTTP performs the requests; it should not follow redirects
	// ([NewHTTPClient]).
	HTTP *http.Client
	// UserAgent is sent as User-Agent when set.
	UserAgent string
}

// APIError is a non-2xx answer from the server. Message is the server's
// sentence for the user (or a description of the status when the body was
// not credserver's error shape) and is safe to show.
type APIError struct {
	Status  int    // HTTP status code
	Code    string // the server's snake_case error code; "" when absent
	Message string // one human sentence
	// Grant is the grant the request was for; "" for requests about no
	// grant (whoami).
	Grant string
}

// Error returns "grant: code: message", leaving out the parts that are
// empty: the line credctl prints after "credctl: ".
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Grant != "" {
		b.WriteString(oneLine(e.Grant) + ": ")
	}
	if e.Code != "" {
		b.WriteString(oneLine(e.Code) + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// forGrant names grant in err when err is an [APIError].
func forGrant(grant string, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Grant == "" {
		ae.Grant = grant
	}
	return err
}

// Whoami calls GET /v1/whoami and returns the raw JSON body.
func (c *Client) Whoami(ctx context.Context) ([]byte, error) {
	return c.get(ctx, "/v1/whoami", nil)
}

// Credentials calls GET /v1/credentials/{grant} and returns the raw JSON
// body. Empty access or duration are left out, so the grant's defaults apply.
func (c *Client) Credentials(ctx context.Context, grant, access, duration string) ([]byte, error) {
	q := url.Values{}
	if access != "" {
		q.Set("access", access)
	}
	if duration != "" {
		q.Set("duration", duration)
	}
	body, err := c.get(ctx, "/v1/credentials/"+escapeSegment(grant), q)
	return body, forGrant(grant, err)
}

// escapeSegment escapes s as one path segment. "." and ".." are escaped too:
// a proxy that cleans paths must not turn a grant name into a different route.
func escapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return url.PathEscape(s)
}

// get sends GET base+path?query (path already escaped) and returns the body
// of a 2xx answer that is JSON.
func (c *Client) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	return c.send(ctx, http.MethodGet, path, query)
}

// send sends method base+path?query (path already escaped) and returns the
// body of a 2xx answer. The body must be JSON; only a non-GET answer may be
// empty. Redirects are reported, never followed: the token goes only to the
// configured URL.
func (c *Client) send(ctx context.Context, method, path string, query url.Values) ([]byte, error) {
	return c.sendBody(ctx, method, path, query, nil)
}

// sendBody is send with a JSON request body (nil: none).
func (c *Client) sendBody(ctx context.Context, method, path string, query url.Values, jsonBody []byte) ([]byte, error) {
	target := c.BaseURL.String() + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if jsonBody != nil {
		rd = bytes.NewReader(jsonBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", c.BaseURL.Redacted(), err)
	}
	if jsonBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "token "+c.Token)
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of credserver at %s: %w", c.BaseURL.Redacted(), unwrapURLError(err))
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("credserver at %s sent an answer larger than %d bytes", c.BaseURL.Redacted(), maxBody)
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, &APIError{Status: resp.StatusCode, Message: fmt.Sprintf(
			"%s answered with a redirect (%s) to %q; check CREDSERVER_URL",
			c.BaseURL.Redacted(), resp.Status, resp.Header.Get("Location"))}
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		return nil, c.apiError(resp, body)
	case (method == http.MethodGet || len(body) > 0) && !json.Valid(body):
		return nil, fmt.Errorf("%s answered %s with something other than JSON; check CREDSERVER_URL", c.BaseURL.Redacted(), resp.Status)
	}
	return body, nil
}

// apiError reads credserver's {"error": {"code", "message"}} body, or
// describes the status when something else (a proxy, the hub) answered.
func (c *Client) apiError(resp *http.Response, body []byte) *APIError {
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		msg := oneLine(eb.Error.Message)
		if resp.StatusCode == http.StatusNotFound && eb.Error.Code == routeNotFound {
			msg += "; " + c.basePathHint()
		}
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: msg}
	}
	msg := fmt.Sprintf("%s answered %s", c.BaseURL.Redacted(), resp.Status)
	switch resp.StatusCode {
	case http.StatusNotFound:
		msg += "; check CREDSERVER_URL"
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += "; the token was not accepted"
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

// routeNotFound is the server's code for a path it has no route for: with
// a CREDSERVER_URL that lacks the base path, every call gets it.
const routeNotFound = "not_found"

// basePathHint tells the user how CREDSERVER_URL should look when the server
// found no route for the path credctl used.
func (c *Client) basePathHint() string {
	u := *c.BaseURL
	u.Path, u.RawPath = "", ""
	if strings.Trim(c.BaseURL.Path, "/") == "" {
		return fmt.Sprintf("CREDSERVER_URL %s has no base path: it must include the server's base_path, e.g. %s/services/credserver",
			c.BaseURL.Redacted(), u.Redacted())
	}
	return fmt.Sprintf("check that CREDSERVER_URL %s ends in the server's base_path (e.g. %s/services/credserver)",
		c.BaseURL.Redacted(), u.Redacted())
}

// transportError describes a failed round trip in one line. The request URL
// carries no token, but the message names only the server, not the path.
func (c *Client) transportError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		if c.HTTP.Timeout > 0 {
			return fmt.Errorf("no answer from credserver at %s within %s", c.BaseURL.Redacted(), c.HTTP.Timeout)
		}
		return fmt.Errorf("no answer from credserver at %s in time", c.BaseURL.Redacted())
	}
	return fmt.Errorf("cannot reach credserver at %s: %w", c.BaseURL.Redacted(), unwrapURLError(err))
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// unwrapURLError drops *url.Error's "Get <url>:" prefix, which would repeat
// the server and add the path.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
