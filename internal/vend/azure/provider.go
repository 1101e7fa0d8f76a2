package azure

import (
	"context"
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/credserver/credserver/internal/vend"
)

const (
	// ClockSkew is how far in the past a SAS starts, so that a storage
	// front end whose clock is a little ahead of ours accepts it at once.
	ClockSkew = 5 * time.Minute
	// defaultHTTPTimeout bounds one call to Azure (container creation)
	// when Config.HTTPClient is nil.
	defaultHTTPTimeout = 10 * time.Second
)

// Config configures a [Provider].
type Config struct {
	// AccountName is the storage account. Required.
	AccountName string
	// AccountKeyFile holds the account key (base64, as the portal shows
	// it); surrounding whitespace is ignored. Required. SAS tokens are
	// signed with it; it is never logged or put in an error.
	AccountKeyFile string
	// BlobEndpoint is the account's blob service URL, told to clients as
	// account_url. "" means https://<AccountName>.blob.core.windows.net;
	// Azurite's is http://127.0.0.1:10000/devstoreaccount1.
	BlobEndpoint string
	// HierarchicalNamespace says the account has ADLS Gen2 directories, so
	// a SAS can be narrowed to a prefix (sr=d). Without it a SAS covers a
	// whole container and a request for a prefix is refused.
	HierarchicalNamespace bool
	// HTTPClient carries container creation; nil means a client with a
	// 10 s timeout. Signing a SAS makes no call.
	HTTPClient *http.Client
	// Now is the clock SAS start and expiry times come from; nil means
	// time.Now.
	Now func() time.Time
}

// Provider issues service SAS tokens signed with the account key. It is
// safe for concurrent use.
type Provider struct {
	account  string
	endpoint string
	https    bool
	hns      bool
	cred     *azblob.SharedKeyCredential
	client   *azblob.Client
	now      func() time.Time

	// created holds the containers this process has made sure exist.
	created sync.Map
}

var _ vend.Provider = (*Provider)(nil)

// New reads the account key and returns a Provider. It makes no network
// call.
func New(cfg Config) (*Provider, error) {
	if cfg.AccountName == "" {
		return nil, errors.New("azure: account name is required")
	}
	if cfg.AccountKeyFile == "" {
		return nil, errors.New("azure: account key file is required")
	}
	raw, err := os.ReadFile(cfg.AccountKeyFile)
	if err != nil {
		return nil, fmt.Errorf("azure: account_key_file: %w", err)
	}
	key := strings.TrimSpace(string(raw))
	cred, err := azblob.NewSharedKeyCredential(cfg.AccountName, key)
	if err != nil || key == "" {
		// The SDK's error names only an offset; ours names nothing.
		return nil, fmt.Errorf("azure: account_key_file %s does not hold a base64 account key", cfg.AccountKeyFile)
	}
	endpoint := strings.TrimRight(cfg.BlobEndpoint, "/")
	if endpoint == "" {
		endpoint = "https://" + cfg.AccountName + ".blob.core.windows.net"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("azure: blob endpoint %q is not an http(s) URL", endpoint)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client, err := azblob.NewClientWithSharedKeyCredential(endpoint, cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: cfg.HTTPClient,
			Retry:     azpolicy.RetryOptions{MaxRetries: 2},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("azure: blob client: %w", err)
	}
	return &Provider{
		account:  cfg.AccountName,
		endpoint: endpoint,
		https:    u.Scheme == "https",
		hns:      cfg.HierarchicalNamespace,
		cred:     cred,
		client:   client,
		now:      cfg.Now,
	}, nil
}

// Issue signs a SAS for req: the whole container d.Bucket when the prefix
// is "", else (hierarchical namespace only) the directory d.Prefixes[0]
// and everything below it. It first creates the container when d.Create
// is set, once per container per process. Creation failures are
// *[vend.UpstreamError]; a scope a SAS cannot express is an error before
// any call (several prefixes wrap [vend.ErrPolicyTooLarge]).
func (p *Provider) Issue(ctx context.Context, d policy.Decision) (*vend.Credentials, error) {
	values, err := p.scope(d)
	if err != nil {
		return nil, fmt.Errorf("azure: grant %q: %w", d.Grant, err)
	}
	if d.Duration <= 0 {
		return nil, fmt.Errorf("azure: grant %q: duration %v must be positive", d.Grant, d.Duration)
	}
	if d.Create {
		if err := p.ensureContainer(ctx, d.Bucket); err != nil {
			return nil, err
		}
	}
	now := p.now().UTC()
	// SAS times have whole seconds; Expires must not claim more.
	values.StartTime = now.Add(-ClockSkew).Truncate(time.Second)
	values.ExpiryTime = now.Add(d.Duration).Truncate(time.Second)
	values.Protocol = sas.ProtocolHTTPS
	if !p.https {
		values.Protocol = sas.ProtocolHTTPSandHTTP
	}
	qp, err := values.SignWithSharedKey(p.cred)
	if err != nil {
		return nil, fmt.Errorf("azure: grant %q: sign SAS: %w", d.Grant, err)
	}
	return &vend.Credentials{
		Expires: values.ExpiryTime,
		KeyID:   tokenID(qp.Signature()),
		Body:    p.body(d, values.ExpiryTime, qp.Encode()),
	}, nil
}
