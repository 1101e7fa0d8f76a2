package app

import (
	"cmp"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
)

// buildDirectory reads hub.api_token_file and builds the hub account
// directory on credserver's own service token; nil when the key is unset.
// The token is never part of an error.
func buildDirectory(cfg *config.Config, o Options) (*auth.HubDirectory, error) {
	if cfg.Hub.APITokenFile == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(cfg.Hub.APITokenFile)
	if err != nil {
		return nil, fmt.Errorf("hub.api_token_file: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return nil, fmt.Errorf("hub.api_token_file %s: the file is empty", cfg.Hub.APITokenFile)
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, fmt.Errorf("hub.api_token_file %s: the token must be one line without spaces", cfg.Hub.APITokenFile)
	}
	d, err := auth.NewDirectory(auth.DirectoryConfig{
		APIURL:   cfg.Hub.APIURL,
		Token:    token,
		CacheTTL: time.Duration(cfg.Hub.CacheTTL),
		Timeout:  cmp.Or(o.HubTimeout, time.Duration(cfg.Hub.Timeout)),
		Client:   instrumentedClient(o.Metrics, "hub", o.HubClient),
		Now:      o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("hub.api_token_file: %w", err)
	}
	return d, nil
}
