package ghapp

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// expandRepositories turns the grant's names and patterns into the
// repository names of the installation they match. Plain names are passed
// on as they are (GitHub refuses the token if one does not exist); patterns
// are matched, case-insensitively, against the installation's repositories.
func (a *App) expandRepositories(ctx context.Context, id int64, owner string, patterns []string) ([]string, error) {
	var names []string
	var globs []string
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?") {
			globs = append(globs, strings.ToLower(p))
		} else {
			names = append(names, p)
		}
	}
	if len(globs) > 0 {
		all, err := a.listRepositories(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, n := range all {
			if slices.ContainsFunc(globs, func(g string) bool { ok, _ := path.Match(g, strings.ToLower(n)); return ok }) {
				names = append(names, n)
			}
		}
	}
	slices.SortFunc(names, func(x, y string) int { return strings.Compare(strings.ToLower(x), strings.ToLower(y)) })
	names = slices.CompactFunc(names, strings.EqualFold)
	switch {
	case len(names) == 0:
		return nil, upstreamErr(0, "no_repositories", fmt.Sprintf("no repository of %q that the GitHub App can reach matches this grant's repositories", owner), nil)
	case len(names) > maxRepositories:
		return nil, upstreamErr(0, "too_many_repositories", fmt.Sprintf("this grant matches %d repositories; GitHub allows at most %d per token", len(names), maxRepositories), nil)
	}
	return names, nil
}

// listRepositories returns the names of every repository the installation
// covers, listed with an internal metadata-only token; both are cached.
func (a *App) listRepositories(ctx context.Context, id int64) ([]string, error) {
	a.instMu.Lock()
	c, ok := a.listings[id]
	a.instMu.Unlock()
	if ok && a.now().Sub(c.fetched) < listingTTL {
		return c.names, nil
	}
	v, err, _ := a.mints.Do("listing\x00"+strconv.FormatInt(id, 10), func() (any, error) {
		tok, err := a.listToken(ctx, id)
		if err != nil {
			return nil, err
		}
		var names []string
		for page := 1; page <= maxListPages; page++ {
			var resp struct {
				Repositories []struct {
					Name string `json:"name"`
				} `json:"repositories"`
			}
			q := "/installation/repositories?per_page=100&page=" + strconv.Itoa(page)
			if _, err := a.callAPI(ctx, http.MethodGet, q, "Bearer "+tok, nil, &resp); err != nil {
				return nil, a.apiFailure(err, "listing the installation's repositories")
			}
			for _, r := range resp.Repositories {
				names = append(names, r.Name)
			}
			if len(resp.Repositories) < 100 {
				break
			}
		}
		a.instMu.Lock()
		a.listings[id] = cachedListing{names: names, fetched: a.now()}
		a.instMu.Unlock()
		return names, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}

// listToken returns a metadata:read token for listing, reused until ten
// minutes before it expires. It never leaves this process.
func (a *App) listToken(ctx context.Context, id int64) (string, error) {
	a.instMu.Lock()
	c, ok := a.listTokens[id]
	a.instMu.Unlock()
	if ok && c.expires.Sub(a.now()) > tokenMargin {
		return c.token, nil
	}
	tr, err := a.mintInstallationToken(ctx, id, nil, map[string]string{"metadata": "read"})
	if err != nil {
		return "", err
	}
	a.instMu.Lock()
	a.listTokens[id] = cachedToken{token: tr.Token, expires: tr.ExpiresAt}
	a.instMu.Unlock()
	return tr.Token, nil
}
