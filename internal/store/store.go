package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound reports that the asked-for record does not exist.
var ErrNotFound = errors.New("store: not found")

// GitHubLink is one hub user's stored GitHub authorization for one
// configured github provider. AccessToken and RefreshToken are secrets:
// never log a GitHubLink.
type GitHubLink struct {
	// Provider is the name of the github provider in the config.
	Provider string
	// User is the hub user name.
	User string
	// Login and GitHubID identify the GitHub account; Login is "" when
	// GitHub did not say (GET /user failed at link time).
	Login    string
	GitHubID int64
	// AccessToken is the current user access token (ghu_...).
	AccessToken string
	// AccessExpires is when AccessToken stops working; zero when the app
	// has user-token expiration turned off.
	AccessExpires time.Time
	// RefreshToken mints the next AccessToken; "" when tokens do not
	// expire. GitHub rotates it on every use.
	RefreshToken string
	// RefreshExpires is when RefreshToken stops working; zero when there
	// is none.
	RefreshExpires time.Time
	// Generation is set by the store: 1 when the link is created, one more
	// on every update. Callers compare it to detect concurrent changes.
	Generation int64
	// Created and Updated are set by the store.
	Created, Updated time.Time
	// AccountCreated is the hub's "created" time of the account that made
	// the link (auth.Account.Created), at microsecond precision: a deleted
	// and re-created hub user of the same name is another account and must
	// not be served this link. Zero for links stored before the store
	// knew it (schema version 1) or without a hub directory.
	AccountCreated time.Time
}

// Device-login statuses.
const (
	LoginPending  = "pending"
	LoginComplete = "complete"
	LoginExpired  = "expired"
	LoginDenied   = "denied"
	LoginFailed   = "failed"
)

// DeviceLogin is one GitHub device flow started for a hub user. DeviceCode
// is a secret: never log a DeviceLogin.
type DeviceLogin struct {
	// ID is the unguessable login_id handed to the client.
	ID       string
	Provider string
	User     string
	// DeviceCode is what the server polls GitHub with; the client never
	// sees it.
	DeviceCode      string
	UserCode        string
	VerificationURI string
	// Interval is the least time between two polls at GitHub.
	Interval time.Duration
	// ExpiresAt is when the device code stops working.
	ExpiresAt time.Time
	// NextPollAt is the earliest time of the next poll at GitHub.
	NextPollAt time.Time
	// Status is one of the Login* constants.
	Status string
	// Login is the GitHub login once Status is LoginComplete.
	Login string
	// Created is set by the store.
	Created time.Time
	// AccountCreated is the hub account the login was started by, as in
	// GitHubLink. It never changes.
	AccountCreated time.Time
}

// Store is credserver's durable state. Implementations are safe for
// concurrent use, also by several processes sharing one database.
//
// The records returned are copies the caller owns. Update callbacks run
// inside a transaction that holds the record: no other Update (or Put or
// Delete) of the same record, in this process or another, runs until it
// ends. A callback may do network I/O; it must return promptly all the
// same, since it holds the lock. Returning (nil, nil) leaves the record as
// it is; returning an error rolls back and is passed through unwrapped.
type Store interface {
	// GitHubLink returns the link of user for provider, or ErrNotFound.
	GitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error)
	// PutGitHubLink creates the link or replaces it (a new login).
	PutGitHubLink(ctx context.Context, l *GitHubLink) error
	// UpdateGitHubLink runs fn on the current link and stores what it
	// returns. It returns the stored link, or the unchanged one when fn
	// returned nil, or ErrNotFound (without calling fn).
	UpdateGitHubLink(ctx context.Context, provider, user string, fn func(cur *GitHubLink) (*GitHubLink, error)) (*GitHubLink, error)
	// DeleteGitHubLink removes the link and returns what it held, or
	// ErrNotFound.
	DeleteGitHubLink(ctx context.Context, provider, user string) (*GitHubLink, error)

	// CreateDeviceLogin stores a new device login; its ID must be new. A
	// user has at most one pending login per provider: storing a second
	// one is ErrPendingLogin (end the first with UpdateDeviceLogin).
	CreateDeviceLogin(ctx context.Context, l *DeviceLogin) error
	// PendingDeviceLogin returns user's login at provider whose status is
	// pending (it may have expired without being polled), or ErrNotFound.
	PendingDeviceLogin(ctx context.Context, provider, user string) (*DeviceLogin, error)
	// DeviceLogin returns the login with id, or ErrNotFound.
	DeviceLogin(ctx context.Context, id string) (*DeviceLogin, error)
	// UpdateDeviceLogin is UpdateGitHubLink for device logins.
	UpdateDeviceLogin(ctx context.Context, id string, fn func(cur *DeviceLogin) (*DeviceLogin, error)) (*DeviceLogin, error)
	// DeleteDeviceLoginsBefore removes logins that expired before t and
	// returns how many.
	DeleteDeviceLoginsBefore(ctx context.Context, t time.Time) (int, error)

	// DelegationTokens: credserver's own tokens for processes without a
	// hub token (DESIGN §5), stored as their SHA-256 only.
	DelegationTokens

	// Ping reports whether the store can serve (for /readyz).
	//
	// Any method may fail with ErrUnavailable while the database cannot
	// be reached (PostgreSQL); see its doc for what is retried.
	Ping(ctx context.Context) error
	// Close releases the store. Safe to call more than once.
	Close() error
}
