package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/vend"
)

// githubDeps are what the github providers share with the server.
type githubDeps struct {
	// links serves the account-link endpoints; nil when there is no store
	// (no github provider, or only installation grants and no key).
	links server.GitHub
	// ready pings the store for /readyz; nil without a store.
	ready func(context.Context) error
	// store is the store opened for the links; nil without one.
	store store.Store
}

// buildGitHub builds every github provider into providers, over one shared
// store. The store is opened when a grant has mode user (then
// store.encryption_key_file must hold a valid key, or the server does not
// start) or when a key file is configured anyway, so a reload may add user
// grants.
func buildGitHub(ctx context.Context, cfg *config.Config, o Options, providers map[string]vend.Provider, dir auth.Directory) (githubDeps, error) {
	var names []string
	for name, pc := range cfg.Providers {
		if pc.Type == config.TypeGitHub {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return githubDeps{}, nil
	}
	slices.Sort(names)
	userGrants := slices.ContainsFunc(cfg.Grants, func(g config.Grant) bool {
		return cfg.Providers[g.Provider].Type == config.TypeGitHub && g.Mode == "user"
	})
	var st store.Store
	if userGrants || cfg.Store.EncryptionKeyFile != "" {
		var err error
		if st, err = openStore(ctx, cfg.Store, o); err != nil {
			return githubDeps{}, err
		}
	}
	base := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	client := instrumentedClient(o.Metrics, "github", base)
	var apps []*ghapp.App
	for _, name := range names {
		pc := cfg.Providers[name]
		gc := ghapp.Config{
			Name: name, AppID: pc.AppID, ClientID: pc.ClientID, APIURL: pc.APIURL, WebURL: pc.WebURL, AppURL: pc.AppURL,
			Store: st, HTTPClient: client, Now: o.Now, Logger: o.Logger, Directory: dir,
		}
		if pc.PrivateKeyFile != "" {
			pem, err := readSecretFile(pc.PrivateKeyFile)
			if err != nil {
				return githubDeps{}, fmt.Errorf("provider %q: private_key_file: %w", name, err)
			}
			if gc.PrivateKey, err = ghapp.ParsePrivateKey(pem); err != nil {
				return githubDeps{}, fmt.Errorf("provider %q: private_key_file %s: %w", name, pc.PrivateKeyFile, err)
			}
		}
		if pc.ClientSecretFile != "" {
			b, err := readSecretFile(pc.ClientSecretFile)
			if err != nil {
				return githubDeps{}, fmt.Errorf("provider %q: client_secret_file: %w", name, err)
			}
			if gc.ClientSecret = strings.TrimSpace(string(b)); gc.ClientSecret == "" {
				return githubDeps{}, fmt.Errorf("provider %q: client_secret_file %s is empty", name, pc.ClientSecretFile)
			}
		}
		app, err := ghapp.New(gc)
		if err != nil {
			return githubDeps{}, fmt.Errorf("provider %q: %w", name, err)
		}
		providers[name] = app
		apps = append(apps, app)
	}
	if st == nil {
		return githubDeps{}, nil
	}
	if dir == nil && userGrants {
		o.Logger.Warn("hub.api_token_file is not set: GitHub links are bound to hub user names only, so a deleted and re-created hub user of the same name inherits the old link; set it to bind links to the hub account")
	}
	return githubDeps{links: ghapp.NewLinks(st, apps...), ready: st.Ping, store: st}, nil
}

// openStore opens the configured store. The key file holds 32 random
// bytes: raw, 64 hex digits, or base64 (store.ParseKey).
func openStore(ctx context.Context, sc config.Store, o Options) (store.Store, error) {
	if sc.EncryptionKeyFile == "" {
		return nil, errors.New("store.encryption_key_file is required: GitHub refresh tokens are kept encrypted (create one with: openssl rand -hex 32 > FILE)")
	}
	key, err := store.LoadKeyFile(sc.EncryptionKeyFile)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(sc.EncryptionKeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		o.Logger.Warn("store.encryption_key_file is readable by group or others; make it 0400 or 0600", "file", sc.EncryptionKeyFile)
	}
	switch sc.Driver {
	case "", "sqlite":
		if sc.DSN == "" {
			return nil, errors.New("store.dsn is required: the SQLite database file, e.g. /var/lib/credserver/credserver.db")
		}
		st, err := store.OpenSQLite(ctx, store.SQLiteConfig{Path: sc.DSN, Key: key, Now: o.Now})
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", sc.DSN, err)
		}
		return st, nil
	case "postgres":
		// config refuses a DSN holding a password; OpenPostgres's errors
		// never quote the one from password_file (or PGPASSWORD).
		pc := store.PostgresConfig{DSN: sc.DSN, Key: key, Now: o.Now}
		if sc.PasswordFile != "" {
			if pc.Password, err = store.LoadPasswordFile(sc.PasswordFile); err != nil {
				return nil, fmt.Errorf("store.password_file: %w", err)
			}
		}
		st, err := store.OpenPostgres(ctx, pc)
		if err != nil {
			return nil, fmt.Errorf("store (postgres): %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("store.driver %q must be sqlite or postgres", sc.Driver)
}

// readSecretFile reads a small secret file; the error never quotes it.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}
