package credctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// whoamiParsed calls whoami and decodes it.
func (c *Client) whoamiParsed(ctx context.Context) (*whoamiBody, error) {
	body, err := c.Whoami(ctx)
	if err != nil {
		return nil, err
	}
	var w whoamiBody
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("the server's whoami answer is malformed: %v", err)
	}
	return &w, nil
}

// githubGrant picks the GitHub grant to use and its web URL: the one named,
// or the first GitHub grant with mode user (whose location is the bare
// GitHub URL; an installation grant's names an owner).
func (w *whoamiBody) githubGrant(named string) (string, string, error) {
	for _, g := range w.Grants {
		if g.Provider != "github" {
			continue
		}
		u, err := url.Parse(g.Location)
		if err != nil || u.Host == "" {
			continue
		}
		isUser := strings.Trim(u.Path, "/") == ""
		if named == g.Name || (named == "" && isUser) {
			return g.Name, u.Scheme + "://" + u.Host, nil
		}
	}
	if named != "" {
		return "", "", fmt.Errorf("%q is not one of your GitHub grants; run 'credctl whoami' to list them", named)
	}
	return "", "", errors.New("the hub policy gives you no GitHub grant for your own account; ask your hub admin")
}

// send is Client.get for any method.
func (c *Client) send(ctx context.Context, method, path string, query url.Values) ([]byte, error) {
	if method == http.MethodGet {
		return c.get(ctx, path, query)
	}
	target := c.BaseURL.String() + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", c.BaseURL.Redacted(), err)
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
	body, err := readBounded(resp)
	if err != nil {
		return nil, fmt.Errorf("reading the answer of credserver at %s: %w", c.BaseURL.Redacted(), unwrapURLError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, c.apiError(resp, body)
	}
	if len(body) > 0 && !json.Valid(body) {
		return nil, fmt.Errorf("%s answered %s with something other than JSON; check CREDSERVER_URL", c.BaseURL.Redacted(), resp.Status)
	}
	return body, nil
}

// readBounded reads a response body of at most maxBody bytes.
func readBounded(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the answer is larger than %d bytes", maxBody)
	}
	return body, nil
}
