package app

import (
	"context"
	"fmt"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/vend"
	"github.com/credserver/credserver/internal/vend/awssts"
)

// buildProviders builds every provider a grant uses. A provider type this
// version cannot vend for is an error at start, not a 500 at first use.
func buildProviders(ctx context.Context, cfg *config.Config, o Options) (map[string]vend.Provider, error) {
	used := map[string]bool{}
	for _, g := range cfg.Grants {
		used[g.Provider] = true
	}
	out := make(map[string]vend.Provider, len(used))
	for name := range used {
		pc := cfg.Providers[name]
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
		default:
			return nil, fmt.Errorf("provider %q: type %q is not supported by this version of credserver", name, pc.Type)
		}
	}
	return out, nil
}
