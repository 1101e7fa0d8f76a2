package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/store"
)

// Revoked is what RevokeUser removed.
type Revoked struct {
	// DelegationTokens is how many delegation tokens were deleted.
	DelegationTokens int
	// GitHubLinks names the github providers whose link was deleted.
	GitHubLinks []string
}

// RevokeUser removes everything credserver holds for user in the
// configured store: all their delegation tokens and their GitHub link for
// every github provider (e.g. after the account was compromised). Every
// replica refuses the tokens within hub.cache_ttl; the GitHub link is
// gone at once (no more refreshed user tokens), while a user token already
// handed out lives until its expiry (at most 8 hours) unless the
// authorization is also revoked at GitHub. Safe to run while servers run.
func RevokeUser(ctx context.Context, cfg *config.Config, user string) (Revoked, error) {
	var out Revoked
	if user == "" {
		return out, errors.New("no user given")
	}
	st, err := openStore(ctx, cfg.Store, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return out, err
	}
	defer st.Close()
	if out.DelegationTokens, err = st.DeleteDelegationTokensOf(ctx, user); err != nil {
		return out, fmt.Errorf("deleting delegation tokens: %w", err)
	}
	var names []string
	for name, pc := range cfg.Providers {
		if pc.Type == config.TypeGitHub {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		_, err := st.DeleteGitHubLink(ctx, name, user)
		switch {
		case err == nil:
			out.GitHubLinks = append(out.GitHubLinks, name)
		case !errors.Is(err, store.ErrNotFound):
			return out, fmt.Errorf("deleting the GitHub link (provider %q): %w", name, err)
		}
	}
	return out, nil
}
