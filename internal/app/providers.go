package app

import (
	"context"
	"fmt"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/vend"
	"github.com/credserver/credserver/internal/vend/awssts"
	"github.com/credserver/credserver/internal/vend/azure"
	"github.com/credserver/credserver/internal/vend/gcs"
)

// buildProviders builds every configured provider. A provider type this
// version cannot vend for is an error at start, not a 500 at first use.
func buildProviders(ctx context.Context, cfg *config.Config, o Options) (map[string]vend.Provider, error) {
	// Every configured provider is built, used or not, so that a reload may
	// add grants for any of them.
	out := make(map[string]vend.Provider, len(cfg.Providers))
	for name, pc := range cfg.Providers {
		switch pc.Type {
		case "aws":
			p, err := awssts.New(ctx, awssts.Config{
				Region:      pc.Region,
				RoleARN:     pc.RoleARN,
				STSEndpoint: pc.STSEndpoint,
				S3Endpoint:  pc.S3Endpoint,
				Credentials: o.AWSCredentials,
				HTTPClient:  o.STSClient,
				Now:         o.Now,
			})
			if err != nil {
				return nil, fmt.Errorf("provider %q: %w", name, err)
			}
			out[name] = p
		case "gcs":
			// o.STSClient carries Google's token exchange too: the upstream
			// client tests wrap.
			p, err := gcs.New(ctx, gcs.Config{CredentialsFile: pc.CredentialsFile, HTTPClient: o.STSClient, Now: o.Now})
			if err != nil {
				return nil, fmt.Errorf("provider %q: %w", name, err)
			}
			out[name] = p
		case "azure":
			p, err := azure.New(azure.Config{
				AccountName:           pc.AccountName,
				AccountKeyFile:        pc.AccountKeyFile,
				BlobEndpoint:          pc.BlobEndpoint,
				HierarchicalNamespace: pc.HierarchicalNamespace,
				HTTPClient:            o.STSClient,
				Now:                   o.Now,
			})
			if err != nil {
				return nil, fmt.Errorf("provider %q: %w", name, err)
			}
			out[name] = p
		case "github":
			// Built by buildGitHub (github.go): the github providers share
			// one store.
		default:
			return nil, fmt.Errorf("provider %q: type %q is not supported by this version of credserver", name, pc.Type)
		}
	}
	return out, nil
}
