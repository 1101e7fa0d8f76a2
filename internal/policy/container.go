package policy

import (
	"crypto/sha256"
	"encoding/base32"

	"github.com/credserver/credserver/internal/config"
)

// containerHashLen is the length of the hash that ends an encoded
// container segment: 13 base32 characters, 65 bits of SHA-256.
const containerHashLen = 13

// containerHash is lowercase base32 (a-z, 2-7), valid in container names.
var containerHash = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ContainerSegment returns the form of a hub user name that stands for
// {user} in an azure container template (DESIGN §8): 3 to
// config.MaxContainerSegment (40) characters, lowercase ASCII letters,
// digits and single hyphens, starting and ending with a letter or digit,
// so "scratch-{user}" is a valid container name for every user.
//
// A name already of that form stays as it is ("alice", "jdoe-42"), unless
// it has the shape of an encoded segment. Every other name is encoded as
// a readable part (the name lowercased, other characters turned into
// single hyphens, cut to 26 characters; "u" when nothing is left), a
// hyphen, and 13 base32 characters of the SHA-256 of the exact name:
// "Alice" becomes "alice-" followed by its hash. Names that end in a
// hyphen and 13 characters of a-z and 2-7 are always encoded, so an
// ordinary name never equals an encoded one; two encoded names share a
// segment only if their hashes collide on 65 bits. The mapping is
// therefore injective for all practical purposes.
func ContainerSegment(name string) string {
	if plainContainer(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	var hash [52]byte // base32 of 32 bytes, unpadded
	containerHash.Encode(hash[:], sum[:])

	const readable = config.MaxContainerSegment - containerHashLen - 1
	buf := make([]byte, 0, config.MaxContainerSegment)
	hyphen := true // no leading hyphen
	for i := 0; i < len(name) && len(buf) < readable; i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			buf, hyphen = append(buf, c), false
		case 'A' <= c && c <= 'Z':
			buf, hyphen = append(buf, c+'a'-'A'), false
		case !hyphen:
			buf, hyphen = append(buf, '-'), true
		}
	}
	for len(buf) > 0 && buf[len(buf)-1] == '-' {
		buf = buf[:len(buf)-1]
	}
	if len(buf) == 0 {
		buf = append(buf, 'u')
	}
	buf = append(buf, '-')
	buf = append(buf, hash[:containerHashLen]...)
	return string(buf)
}

// plainContainer reports whether name may stand for itself in a
// container name: 3-40 characters of [a-z0-9] in hyphen-separated runs,
// and not shaped like an encoded segment.
func plainContainer(name string) bool {
	if len(name) < config.MinContainerSegment || len(name) > config.MaxContainerSegment {
		return false
	}
	hyphen := true
	for i := range len(name) {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			hyphen = false
		case c == '-' && !hyphen:
			hyphen = true
		default:
			return false
		}
	}
	return !hyphen && !encodedShape(name)
}

// encodedShape reports whether s ends in "-" and containerHashLen
// characters of the hash alphabet: the mark of an encoded segment.
func encodedShape(s string) bool {
	n := len(s) - containerHashLen
	if n < 2 || s[n-1] != '-' {
		return false
	}
	for i := n; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
