package gcs

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/credserver/credserver/internal/policy"
	"time"

	"github.com/credserver/credserver/internal/vend"
)

// ProviderName is the "provider" field of every body this package returns.
const ProviderName = "gcs"

// Body is the JSON response for a GCS credential (the public API's gcs
// credential body). gcsfs takes AccessToken as
// token=google.oauth2.credentials.Credentials(access_token). It holds a
// secret: never log it.
type Body struct {
	Grant     string `json:"grant"`
	Provider  string `json:"provider"`
	ExpiresAt string `json:"expires_at"`
	// AccessToken is an OAuth 2.0 bearer token limited by the access
	// boundary.
	AccessToken string `json:"access_token"`
	Bucket      string `json:"bucket"`
	// Prefix is the first prefix; Prefixes lists all of them when there is
	// more than one.
	Prefix   string   `json:"prefix"`
	Prefixes []string `json:"prefixes,omitempty"`
	// URL is gs://bucket/prefix.
	URL string `json:"url"`
}

func body(d policy.Decision, expires time.Time, token string) *Body {
	b := &Body{
		Grant:       d.Grant,
		Provider:    ProviderName,
		ExpiresAt:   expires.UTC().Format(time.RFC3339),
		AccessToken: token,
		Bucket:      d.Bucket,
	}
	b.Prefix, b.Prefixes, b.URL = vend.Where(d, "gs")
	return b
}

// TokenID names a token in the audit log without revealing it: "sha256:"
// and the first 16 hex digits of its SHA-256.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
