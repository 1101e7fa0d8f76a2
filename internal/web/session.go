package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MinSessionKeyBytes is the shortest web.session_key_file accepted.
const MinSessionKeyBytes = 32

// maxCookieBytes bounds a cookie value we try to open: a hub token is at
// most 512 bytes, so a sealed session is far below this.
const maxCookieBytes = 2048

// errBadSeal means a cookie value is not one this key sealed (tampered,
// truncated, another key, another purpose) or it has expired.
var errBadSeal = errors.New("web: cookie not sealed by this server or expired")

// sealer encrypts and authenticates small JSON values for cookies. The
// purpose (the cookie name) is bound as additional data, so a value sealed
// for one cookie never opens as another.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) < MinSessionKeyBytes {
		return nil, fmt.Errorf("web: session key has %d bytes, need at least %d", len(key), MinSessionKeyBytes)
	}
	// Derive the AES key so any key file of 32 bytes or more gives a
	// uniform 256-bit key for this one purpose.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("credserver web session v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// sealed is the envelope of every sealed value: the payload and when it
// stops being accepted.
type sealed struct {
	Exp int64           `json:"e"`
	V   json.RawMessage `json:"v"`
}

func (s *sealer) seal(purpose string, v any, exp time.Time) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(sealed{Exp: exp.Unix(), V: raw})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (s *sealer) open(purpose, value string, now time.Time, v any) error {
	if value == "" || len(value) > maxCookieBytes {
		return errBadSeal
	}
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return errBadSeal
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(purpose))
	if err != nil {
		return errBadSeal
	}
	var env sealed
	if err := json.Unmarshal(plain, &env); err != nil || now.Unix() >= env.Exp {
		return errBadSeal
	}
	if err := json.Unmarshal(env.V, v); err != nil {
		return errBadSeal
	}
	return nil
}

// session is what the session cookie holds.
type session struct {
	// Token is the hub token from the OAuth flow.
	Token string `json:"t"`
	// CSRF is the secret every state-changing request must echo.
	CSRF string `json:"c"`
}

// oauthState is what the short-lived state cookie holds during login.
type oauthState struct {
	State string `json:"s"`
}

// randomString is n random bytes, base64url without padding.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
