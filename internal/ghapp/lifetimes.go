package ghapp

import "time"

// GitHub fixes how long its tokens live; a grant's duration cannot change
// it. credserver explain reports these.
const (
	// UserTokenLife is the life of a GitHub App user-to-server token (with
	// token expiration on, GitHub's default).
	UserTokenLife = 8 * time.Hour
	// InstallationTokenLife is the life of an installation access token.
	InstallationTokenLife = time.Hour
)
