package awssts

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Limits STS puts on RoleSessionName and SourceIdentity.
const (
	minSessionName = 2
	maxSessionName = 64
)

// hashSep and hashLen shape the suffix of a changed name: "=" is legal in
// session names but rare in usernames, and 16 hex digits (64 bits) keep
// distinct users apart.
const (
	hashSep = '='
	hashLen = 16
)

// SessionName returns the RoleSessionName and SourceIdentity for a hub user:
// 2 to 64 characters from [A-Za-z0-9_+=,.@-].
//
// A username that already fits is used as is, so the audit trail shows it
// verbatim. Any other name becomes a readable prefix (characters outside the
// set replaced by "_") followed by "=" and a hash of the full name; names
// that happen to look like that form are hashed too. Distinct users
// therefore get distinct session names (short of a 64-bit hash collision).
func SessionName(user string) string {
	if validSessionName(user) && !looksHashed(user) {
		return user
	}
	var b strings.Builder
	const maxPrefix = maxSessionName - 1 - hashLen
	for _, r := range user {
		if b.Len() == maxPrefix {
			break
		}
		if sessionNameChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(user))
	b.WriteByte(hashSep)
	b.WriteString(hex.EncodeToString(sum[:])[:hashLen])
	return b.String()
}

func validSessionName(s string) bool {
	if len(s) < minSessionName || len(s) > maxSessionName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !sessionNameChar(rune(s[i])) {
			return false
		}
	}
	return true
}

func sessionNameChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return r < utf8.RuneSelf && strings.ContainsRune("_+=,.@-", r)
}

// looksHashed reports whether s ends like SessionName's changed form, which
// a verbatim name must never do.
func looksHashed(s string) bool {
	if len(s) < hashLen+1 || s[len(s)-hashLen-1] != hashSep {
		return false
	}
	for _, c := range []byte(s[len(s)-hashLen:]) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
