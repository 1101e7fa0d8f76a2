package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// DelegationPrefix starts every delegation token (DESIGN §5). A token with
// this prefix is credserver's own: it is looked up in the store and never
// sent to the hub.
const DelegationPrefix = "csd_"

// delegationSecretBytes is the token's randomness: 256 bits.
const delegationSecretBytes = 32

// delegationTokenLen is the length of every well-formed delegation token.
var delegationTokenLen = len(DelegationPrefix) + base64.RawURLEncoding.EncodedLen(delegationSecretBytes)

// NewDelegationToken returns a new delegation token and its SHA-256, the
// only form in which it may be stored. The token is DelegationPrefix and
// 256 bits from crypto/rand in unpadded base64url (47 characters in all).
func NewDelegationToken() (token string, hash [sha256.Size]byte) {
	var b [delegationSecretBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	token = DelegationPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, sha256.Sum256([]byte(token))
}

// IsDelegationToken reports whether tok claims to be a delegation token
// (has DelegationPrefix); it may still be malformed.
func IsDelegationToken(tok string) bool { return strings.HasPrefix(tok, DelegationPrefix) }

// ParseDelegationToken checks that tok is a well-formed delegation token
// (the prefix, then exactly 43 characters of canonical unpadded base64url)
// and returns its SHA-256, the store's lookup key. Errors match
// [ErrInvalidToken] and never include any part of tok.
func ParseDelegationToken(tok string) ([sha256.Size]byte, error) {
	if len(tok) != delegationTokenLen || !IsDelegationToken(tok) {
		return [sha256.Size]byte{}, fmt.Errorf("%w: not well-formed", ErrDelegationInvalid)
	}
	var b [delegationSecretBytes + 1]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(tok[len(DelegationPrefix):]))
	if err != nil || n != delegationSecretBytes {
		return [sha256.Size]byte{}, fmt.Errorf("%w: not well-formed", ErrDelegationInvalid)
	}
	return sha256.Sum256([]byte(tok)), nil
}
