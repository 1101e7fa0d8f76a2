package config

// Config is the whole configuration file. After [Parse] or [Load] returns
// it, defaults are filled in and every field has passed validation.
type Config struct {
	// Listen is the address the API listens on, host:port.
	// Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// BasePath is the path prefix every API route lives under, e.g.
	// "/services/credserver" behind the hub's proxy. It is "" or starts
	// with "/" and has no trailing "/"; "/" is normalised to "".
	BasePath string `yaml:"base_path"`
	// MetricsListen, when set, serves /metrics on this separate host:port
	// instead of on Listen.
	MetricsListen string `yaml:"metrics_listen"`
	// Hub says how to reach JupyterHub to identify callers.
	Hub Hub `yaml:"hub"`
	// Store is the durable state (GitHub links).
	Store Store `yaml:"store"`
	// Providers are the upstream credential issuers, by a name that grants
	// refer to.
	Providers map[string]Provider `yaml:"providers"`
	// Grants are the named things users may ask for, in file order.
	Grants []Grant `yaml:"grants"`
	// RequestTimeout bounds every request, upstream calls included, so a
	// hung hub or STS never holds a client. Default 30s.
	RequestTimeout Duration `yaml:"request_timeout"`
	// AuditLog is the file the audit trail (one JSON line per issuance or
	// denial) is appended to; "" or "-" means standard output.
	AuditLog string `yaml:"audit_log"`
	// Limits are the rate limits.
	Limits Limits `yaml:"limits"`
	// Web is the page at {base}/ that users reach from the hub's Services
	// menu.
	Web Web `yaml:"web"`
	// Delegation configures delegation tokens (csd_…): credserver's own
	// tokens for Dask workers, batch jobs and laptops.
	Delegation Delegation `yaml:"delegation"`

	// lines maps key paths such as "grants[1].access" to their line in
	// the file; nil for a Config built in code.
	lines lineIndex
}

// Hub configures the identity lookup against JupyterHub.
type Hub struct {
	// APIURL is the hub's REST API base, an absolute http(s) URL such as
	// "http://127.0.0.1:8081/hub/api", without a trailing "/". Required.
	APIURL string `yaml:"api_url"`
	// CacheTTL is how long a positive token lookup is reused. A revoked
	// hub token keeps working here for at most this long. Default 60s.
	CacheTTL Duration `yaml:"cache_ttl"`
	// RequireScopes lists hub scopes every caller's token must carry,
	// e.g. "custom:credserver:use". Empty means none.
	RequireScopes []string `yaml:"require_scopes"`
	// Timeout bounds one identity lookup at the hub, its one retry
	// included. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// ServiceName is the name the hub knows this service by (its entry in
	// c.JupyterHub.services). Default "credserver".
	ServiceName string `yaml:"service_name"`
	// RequireServiceAccess, true unless set to false, accepts a hub token
	// only when the hub lists access:services or
	// access:services!service=<ServiceName> among its scopes: a token the
	// hub issued to another OAuth client gets nothing. Use
	// [Hub.ServiceAccessRequired] to read it.
	RequireServiceAccess *bool `yaml:"require_service_access"`
	// APITokenFile names the file holding credserver's own service token
	// (the service's api_token at the hub; scope read:users). It is the
	// web page's OAuth client secret, and reads delegation-token owners'
	// groups and admin explain's users. Needed by web and delegation.
	APITokenFile string `yaml:"api_token_file"`
}

// ServiceAccessRequired reports hub.require_service_access with its
// default (true) applied.
func (h Hub) ServiceAccessRequired() bool {
	return h.RequireServiceAccess == nil || *h.RequireServiceAccess
}

// Web configures the page at {base}/.
type Web struct {
	// Enabled serves the page; it needs hub.api_token_file and
	// web.session_key_file. Default true when hub.api_token_file is set.
	// Use [Web.On] to read it.
	Enabled *bool `yaml:"enabled"`
	// SessionKeyFile names the file holding the key (at least 32 bytes)
	// that seals the session cookie.
	SessionKeyFile string `yaml:"session_key_file"`
	// OAuthRedirectURI is the redirect_uri registered at the hub for this
	// service. Default "{base_path}/oauth_callback", JupyterHub's own
	// default for services.
	OAuthRedirectURI string `yaml:"oauth_redirect_uri"`
	// HubPublicURL is the hub's URL as the browser sees it, e.g.
	// "https://hub.example.org"; "" means the same origin as this page
	// (right behind the hub's proxy).
	HubPublicURL string `yaml:"hub_public_url"`
}

// On reports whether the page is served: web.enabled, defaulting to
// whether hub.api_token_file is set.
func (w Web) On(h Hub) bool {
	if w.Enabled != nil {
		return *w.Enabled
	}
	return h.APITokenFile != ""
}

// Delegation configures delegation tokens.
type Delegation struct {
	// Enabled lets users create delegation tokens; it needs
	// hub.api_token_file. Default true when hub.api_token_file is set.
	// Use [Delegation.On] to read it.
	Enabled *bool `yaml:"enabled"`
	// MaxLifetime is the longest lifetime a delegation token may have.
	// Default 168h (7 days).
	MaxLifetime Duration `yaml:"max_lifetime"`
}

// On reports whether delegation tokens are enabled: delegation.enabled,
// defaulting to whether hub.api_token_file is set.
func (d Delegation) On(h Hub) bool {
	if d.Enabled != nil {
		return *d.Enabled
	}
	return h.APITokenFile != ""
}

// Limits are rate limits. A rate left out (or 0) takes its default; a
// negative rate turns that limit off.
type Limits struct {
	// UserRate is credential requests per second per hub user, after
	// UserBurst at once. Defaults 20 and 2000: a Dask cluster's stampede
	// passes (the cache answers it), a runaway loop does not.
	UserRate  float64 `yaml:"user_rate"`
	UserBurst int     `yaml:"user_burst"`
	// AuthFailureRate is failed authentications per second per client
	// address, after AuthFailureBurst. Defaults 1 and 30. Callers whose
	// identity is cached are never held back by it.
	AuthFailureRate  float64 `yaml:"auth_failure_rate"`
	AuthFailureBurst int     `yaml:"auth_failure_burst"`
}

// Store configures durable state.
type Store struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the SQLite file or the PostgreSQL connection string. It may
	// hold a password, so it never appears in an error message.
	DSN string `yaml:"dsn"`
	// EncryptionKeyFile names the file holding the key that encrypts
	// stored GitHub refresh tokens. Required when a github grant has
	// mode "user".
	EncryptionKeyFile string `yaml:"encryption_key_file"`
	// PasswordFile names a file holding the PostgreSQL password, so the
	// DSN holds none (PGPASSWORD and PGPASSFILE work too).
	PasswordFile string `yaml:"password_file"`
}

// Provider types, the values of Provider.Type.
const (
	TypeAWS    = "aws"
	TypeGCS    = "gcs"
	TypeAzure  = "azure"
	TypeGitHub = "github"
)

// Provider is one upstream credential issuer. It holds the union of the
// keys of all provider types; validation rejects a key set on a type it
// does not apply to.
type Provider struct {
	// Type is one of aws, gcs, azure, github.
	Type string `yaml:"type"`

	// Region is the AWS region STS and S3 are used in (aws).
	Region string `yaml:"region"`
	// RoleARN is the role AssumeRole is called on (aws).
	RoleARN string `yaml:"role_arn"`
	// STSEndpoint overrides the STS URL, for S3-compatible stores (aws).
	STSEndpoint string `yaml:"sts_endpoint"`
	// S3Endpoint is the S3 URL told to clients, for S3-compatible stores
	// (aws).
	S3Endpoint string `yaml:"s3_endpoint"`

	// CredentialsFile is a service-account JSON key; empty means
	// Application Default Credentials (gcs).
	CredentialsFile string `yaml:"credentials_file"`

	// AccountName is the storage account (azure). Required.
	AccountName string `yaml:"account_name"`
	// AccountKeyFile names the file holding the account key SAS tokens
	// are signed with (azure). Required.
	AccountKeyFile string `yaml:"account_key_file"`
	// BlobEndpoint is the blob service URL (azure). Default
	// "https://<account_name>.blob.core.windows.net".
	BlobEndpoint string `yaml:"blob_endpoint"`
	// HierarchicalNamespace says the account has ADLS Gen2 directories,
	// so a SAS can be narrowed to a prefix (azure).
	HierarchicalNamespace bool `yaml:"hierarchical_namespace"`

	// AppID is the GitHub App id; required for installation grants
	// (github).
	AppID int64 `yaml:"app_id"`
	// ClientID is the GitHub App's OAuth client id; required for user
	// grants (github).
	ClientID string `yaml:"client_id"`
	// PrivateKeyFile names the App's PEM private key; required for
	// installation grants (github).
	PrivateKeyFile string `yaml:"private_key_file"`
	// ClientSecretFile names the file holding the App's client secret;
	// optional (github).
	ClientSecretFile string `yaml:"client_secret_file"`
	// APIURL is the GitHub REST API base (github). Default
	// "https://api.github.com".
	APIURL string `yaml:"api_url"`
	// WebURL is the GitHub web base, used for the device flow (github).
	// Default "https://github.com".
	WebURL string `yaml:"web_url"`
	// AppURL is where users install the GitHub App on their repositories,
	// e.g. "https://github.com/apps/my-hub-app" (github). Optional; the
	// web page and credctl github login point users to it.
	AppURL string `yaml:"app_url"`

	// Line is the line of the provider's name in the file, 0 when the
	// Config was built in code.
	Line int `yaml:"-"`
}

// Access values of Grant.Access.
const (
	AccessRead      = "read"
	AccessReadWrite = "readwrite"
)

// Grant is one named thing users may ask for.
type Grant struct {
	// Name identifies the grant in the API; unique, matching
	// ^[a-z0-9][a-z0-9_-]{0,62}$.
	Name string `yaml:"name"`
	// Provider is a key of Config.Providers.
	Provider string `yaml:"provider"`
	// Bucket is the bucket (aws, gcs).
	Bucket string `yaml:"bucket"`
	// Container is the container (azure). It may contain "{user}",
	// which stands for the container-safe form of the user name
	// (policy.ContainerSegment: 3 to MaxContainerSegment lowercase
	// letters, digits and single hyphens); with it the rest of the name
	// may be at most 63-MaxContainerSegment characters.
	Container string `yaml:"container"`
	// Prefix is the object prefix template: "" (whole bucket) or ending
	// in "/", with {user} and {group} only as whole path segments.
	Prefix string `yaml:"prefix"`
	// Create asks for the container to be created on first use (azure).
	Create bool `yaml:"create"`
	// Access is the most a user may ask: "read" (default) or "readwrite".
	// Empty for github grants, whose permissions decide.
	Access string `yaml:"access"`
	// DefaultDuration is the credential lifetime when the request names
	// none. Default 1h (or MaxDuration if that is shorter).
	DefaultDuration Duration `yaml:"default_duration"`
	// MaxDuration is the longest lifetime a request may ask. Default 12h.
	MaxDuration Duration `yaml:"max_duration"`
	// Allow says who may use the grant; it must name someone.
	Allow Allow `yaml:"allow"`
	// When is an optional CEL condition, checked after the allow rules:
	// the grant is given only when it evaluates to true. It sees
	// user.name, user.groups, user.admin, request.access,
	// request.duration and grant.name, must be of type bool, and is
	// type-checked when the config is loaded; an expression that fails
	// at run time denies.
	When string `yaml:"when"`
	// Shared says the admin means to hand every user matched by a glob
	// in allow.users the same storage location, with no {user} or
	// {group} in its prefix (or container). Without it such a grant is a
	// load error when it allows readwrite, or when it covers the
	// per-user prefixes of another grant on the same bucket: the usual
	// cause is a forgotten "{user}/", which would let every user read,
	// overwrite or delete everyone's data.
	Shared bool `yaml:"shared"`

	// Mode is "user" or "installation" (github).
	Mode string `yaml:"mode"`
	// Owner is the organisation or user owning the repositories
	// (github installation).
	Owner string `yaml:"owner"`
	// Repositories are repository names or glob patterns under Owner
	// (github installation).
	Repositories []string `yaml:"repositories"`
	// Permissions maps GitHub permission names to read, write or admin
	// (github installation).
	Permissions map[string]string `yaml:"permissions"`

	// Line is the line of the grant in the file, for error messages; 0
	// when the Config was built in code.
	Line int `yaml:"-"`
}

// Allow lists who may use a grant: glob patterns (`*` and `?`) on user
// names and on group names. A caller matching any one of them is allowed.
type Allow struct {
	// Users are patterns on the hub user name.
	Users []string `yaml:"users"`
	// Groups are patterns on the hub group names.
	Groups []string `yaml:"groups"`
}
