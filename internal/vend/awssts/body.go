package awssts

import (
	"github.com/credserver/credserver/internal/policy"
	"time"

	"github.com/credserver/credserver/internal/vend"
)

// Body is the JSON response for an AWS credential (the public API's aws
// credential body). It holds secrets: never log it.
type Body struct {
	Grant       string          `json:"grant"`
	Provider    string          `json:"provider"`
	ExpiresAt   string          `json:"expires_at"`
	Credentials BodyCredentials `json:"credentials"`
	Bucket      string          `json:"bucket"`
	// Prefix is the first prefix; Prefixes lists all of them when there is
	// more than one.
	Prefix   string   `json:"prefix"`
	Prefixes []string `json:"prefixes,omitempty"`
	URL      string   `json:"url"`
	Region   string   `json:"region"`
	// EndpointURL is set for S3-compatible stores and omitted for AWS.
	EndpointURL string `json:"endpoint_url,omitempty"`
}

// BodyCredentials is the credentials object of [Body]; credctl turns it into
// the shape botocore's credential_process expects.
type BodyCredentials struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
	Expiration      string `json:"expiration"`
}

// ProviderName is the "provider" field of every body this package returns.
const ProviderName = "aws"

func (p *Provider) body(d policy.Decision, expires time.Time, keyID, secret, token string) *Body {
	exp := expires.UTC().Format(time.RFC3339)
	b := &Body{
		Grant:     d.Grant,
		Provider:  ProviderName,
		ExpiresAt: exp,
		Credentials: BodyCredentials{
			AccessKeyID:     keyID,
			SecretAccessKey: secret,
			SessionToken:    token,
			Expiration:      exp,
		},
		Bucket:      d.Bucket,
		Region:      p.region,
		EndpointURL: p.s3Endpoint,
	}
	b.Prefix, b.Prefixes, b.URL = vend.Where(d, "s3")
	return b
}
