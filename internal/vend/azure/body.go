package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/credserver/credserver/internal/policy"
	"time"
)

// ProviderName is the "provider" field of every body this package returns.
const ProviderName = "azure"

// Body is the JSON response for an Azure credential (the public API's azure
// credential body). adlfs takes it as
// AzureBlobFileSystem(account_name=..., sas_token=...) and paths of the
// form URL. It holds a secret: never log it.
type Body struct {
	Grant     string `json:"grant"`
	Provider  string `json:"provider"`
	ExpiresAt string `json:"expires_at"`
	// SASToken is the SAS query string, without a leading "?".
	SASToken string `json:"sas_token"`
	// AccountName is the storage account, adlfs's account_name.
	AccountName string `json:"account_name"`
	// AccountURL is the blob service URL, for the Azure SDKs'
	// BlobServiceClient(account_url, credential=sas_token).
	AccountURL string `json:"account_url"`
	Container  string `json:"container"`
	Prefix     string `json:"prefix"`
	// URL is abfs://container/prefix, adlfs's form with the account given
	// apart (abfs://container@account.dfs.core.windows.net/... would tie
	// it to public Azure and break Azurite and sovereign clouds).
	URL string `json:"url"`
}

func (p *Provider) body(d policy.Decision, expires time.Time, token string) *Body {
	b := &Body{
		Grant:       d.Grant,
		Provider:    ProviderName,
		ExpiresAt:   expires.UTC().Format(time.RFC3339),
		SASToken:    token,
		AccountName: p.account,
		AccountURL:  p.endpoint,
		Container:   d.Bucket,
		Prefix:      d.Prefixes[0],
		URL:         d.Location,
	}
	if b.URL == "" {
		b.URL = "abfs://" + d.Bucket + "/" + b.Prefix
	}
	return b
}

// tokenID names a SAS in the audit log without revealing it: "sha256:"
// and the first 16 hex digits of the SHA-256 of its signature.
func tokenID(signature string) string {
	sum := sha256.Sum256([]byte(signature))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
