package app

import (
	"context"
	"errors"
	"time"

	"github.com/credserver/credserver/internal/auth"
	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/server"
	"github.com/credserver/credserver/internal/store"
)

// delegationDeps are delegation tokens wired up: the authenticator that
// takes both kinds of token, the server's part, and the store (opened
// here when the github providers did not already).
type delegationDeps struct {
	auth   auth.Authenticator
	server *server.DelegationDeps
	store  store.Store
}

// buildDelegation turns delegation tokens on when the config says so
// (delegation.enabled, by default whenever hub.api_token_file is set):
// they need the store (opened if st is nil) and the hub directory. Off, it
// returns hub as the authenticator, and a csd_ token is never sent there
// (auth.Either refuses it).
func buildDelegation(ctx context.Context, cfg *config.Config, o Options, hub auth.Authenticator, dir auth.Directory, st store.Store) (delegationDeps, error) {
	if !cfg.Delegation.On(cfg.Hub) {
		return delegationDeps{auth: auth.Either{Hub: hub}, store: st}, nil
	}
	if dir == nil {
		return delegationDeps{}, errors.New("delegation.enabled needs hub.api_token_file")
	}
	if st == nil {
		var err error
		if st, err = openStore(ctx, cfg.Store, o); err != nil {
			return delegationDeps{}, err
		}
	}
	d, err := auth.NewDelegations(auth.DelegationConfig{
		Tokens: st, Directory: dir, CacheTTL: time.Duration(cfg.Hub.CacheTTL), Now: o.Now,
	})
	if err != nil {
		return delegationDeps{}, err
	}
	return delegationDeps{
		auth:  auth.Either{Hub: hub, Delegations: d},
		store: st,
		server: &server.DelegationDeps{
			Tokens: st, MaxLifetime: time.Duration(cfg.Delegation.MaxLifetime), Forget: d.ForgetID,
		},
	}, nil
}
