package app

import (
	"bytes"
	"fmt"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/web"
)

// webOptions reads what the web page needs from the files the config
// names; nil when the page is off.
func webOptions(cfg *config.Config, o Options, m *server.Metrics) (*web.Options, error) {
	if !cfg.Web.On(cfg.Hub) {
		return nil, nil
	}
	raw, err := readSecretFile(cfg.Hub.APITokenFile)
	if err != nil {
		return nil, fmt.Errorf("hub.api_token_file: %w", err)
	}
	secret := string(bytes.TrimSpace(raw))
	if secret == "" {
		return nil, fmt.Errorf("hub.api_token_file: %s is empty", cfg.Hub.APITokenFile)
	}
	key, err := readSecretFile(cfg.Web.SessionKeyFile)
	if err != nil {
		return nil, fmt.Errorf("web.session_key_file: %w", err)
	}
	key = bytes.TrimSpace(key)
	if len(key) < web.MinSessionKeyBytes {
		return nil, fmt.Errorf("web.session_key_file: the key has %d bytes, need at least %d (e.g. openssl rand -hex 32)", len(key), web.MinSessionKeyBytes)
	}
	provs := make(map[string]web.ProviderInfo, len(cfg.Providers))
	for name, p := range cfg.Providers {
		provs[name] = web.ProviderInfo{Type: p.Type, S3Endpoint: p.S3Endpoint, Region: p.Region, AccountName: p.AccountName, AppURL: p.AppURL}
	}
	return &web.Options{
		BasePath:     cfg.BasePath,
		HubAPIURL:    cfg.Hub.APIURL,
		HubPublicURL: cfg.Web.HubPublicURL,
		ServiceName:  cfg.Hub.ServiceName,
		RedirectURI:  cfg.Web.OAuthRedirectURI,
		ClientSecret: secret,
		SessionKey:   key,
		Providers:    provs,
		HubClient:    instrumentedClient(m, "hub", o.HubClient),
		Logger:       o.Logger,
		Now:          o.Now,
	}, nil
}
