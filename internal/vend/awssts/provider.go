package awssts

import (
	"context"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credserver/credserver/internal/vend"
)

const (
	// DefaultRegion is used when Config.Region is empty.
	DefaultRegion = "us-east-1"
	// MinDuration is the shortest session STS issues.
	MinDuration = 15 * time.Minute
	// defaultHTTPTimeout bounds one STS round trip when Config.HTTPClient
	// is nil.
	defaultHTTPTimeout = 10 * time.Second
)

// Config configures a [Provider].
type Config struct {
	// Region is the STS signing region and the region told to clients.
	// "" means DefaultRegion.
	Region string
	// RoleARN is the role to assume. Required; MinIO accepts any
	// ARN-shaped string.
	RoleARN string
	// STSEndpoint overrides the STS URL, e.g. http://127.0.0.1:9000 for
	// MinIO or Ceph RGW. "" means the AWS endpoint for Region.
	STSEndpoint string
	// S3Endpoint is told to clients as endpoint_url; "" (AWS) omits it.
	S3Endpoint string
	// Credentials sign the AssumeRole call. nil means the AWS SDK's default
	// chain (environment, shared config, web identity, instance role).
	Credentials aws.CredentialsProvider
	// HTTPClient carries STS calls; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock, used to reject credentials STS says are already
	// expired; nil means time.Now.
	Now func() time.Time
}

// Provider issues S3 credentials with STS AssumeRole. It is safe for
// concurrent use.
type Provider struct {
	client     *sts.Client
	roleARN    string
	region     string
	s3Endpoint string
	now        func() time.Time
}

var _ vend.Provider = (*Provider)(nil)

// New returns a Provider. It makes no network call: a wrong role or
// endpoint shows up as an error from the first Issue.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.RoleARN == "" {
		return nil, errors.New("awssts: role ARN is required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// The SDK's own buildable client, so that AWS_CA_BUNDLE (a corporate
	// CA in front of STS) still applies; a plain *http.Client cannot take it.
	var httpClient aws.HTTPClient = awshttp.NewBuildableClient().WithTimeout(defaultHTTPTimeout)
	if cfg.HTTPClient != nil {
		httpClient = cfg.HTTPClient
	}
	var awsCfg aws.Config
	if cfg.Credentials != nil {
		// Explicit credentials: stay clear of the environment and shared
		// config files, which could otherwise redirect the endpoint.
		awsCfg = aws.Config{Region: cfg.Region, Credentials: cfg.Credentials, HTTPClient: httpClient}
	} else {
		var err error
		awsCfg, err = config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("awssts: load AWS config: %w", err)
		}
		if cfg.HTTPClient != nil {
			awsCfg.HTTPClient = cfg.HTTPClient
		} else if bc, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok {
			awsCfg.HTTPClient = bc.WithTimeout(defaultHTTPTimeout)
		}
	}
	client := sts.NewFromConfig(awsCfg, func(o *sts.Options) {
		if cfg.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.STSEndpoint)
		}
	})
	return &Provider{
		client:     client,
		roleARN:    cfg.RoleARN,
		region:     cfg.Region,
		s3Endpoint: cfg.S3Endpoint,
		now:        cfg.Now,
	}, nil
}

// Issue assumes the role with a session policy limited to req's bucket and
// prefixes. Policy problems wrap [vend.ErrPolicyTooLarge] or report invalid
// input; STS failures are *[vend.UpstreamError] with a redacted Reason.
func (p *Provider) Issue(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
	doc, err := SessionPolicy(d.Bucket, d.Prefixes, d.Access)
	if err != nil {
		return nil, fmt.Errorf("awssts: grant %q: %w", d.Grant, err)
	}
	seconds := d.Duration / time.Second
	if d.Duration < MinDuration || seconds > 1<<31-1 {
		return nil, fmt.Errorf("awssts: grant %q: duration %v is outside what STS issues (at least %v)", d.Grant, d.Duration, MinDuration)
	}
	name := SessionName(d.User)
	out, err := p.client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(p.roleARN),
		RoleSessionName: aws.String(name),
		SourceIdentity:  aws.String(name),
		Policy:          aws.String(string(doc)),
		DurationSeconds: aws.Int32(int32(seconds)),
	})
	if err != nil {
		return nil, mapError(ctx, err)
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil || c.Expiration == nil {
		return nil, &vend.UpstreamError{Upstream: upstreamName, Reason: "STS returned incomplete credentials",
			Err: errors.New("AssumeRole response without credentials, key, secret, token or expiration")}
	}
	if now := p.now(); !c.Expiration.After(now.Add(time.Minute)) {
		// Most likely our clock or the store's is wrong; handing this out
		// would make every client fail and come straight back.
		return nil, &vend.UpstreamError{Upstream: upstreamName, Reason: "STS returned a credential that is already expired (clock skew?)",
			Err: fmt.Errorf("expiration %v, local time %v", c.Expiration.UTC(), now.UTC())}
	}
	return &vend.Credentials{
		Expires: c.Expiration.UTC(),
		KeyID:   *c.AccessKeyId,
		Body:    p.body(d, c.Expiration.UTC(), *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken),
	}, nil
}
