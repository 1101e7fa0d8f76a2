package credctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
