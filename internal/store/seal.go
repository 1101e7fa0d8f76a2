package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// KeySize is the length of the store encryption key: AES-256.
const KeySize = 32

// Errors about the encryption key and sealed values. Their messages never
// hold key material.
var (
	// ErrBadKey reports a key file that does not hold a usable key.
	ErrBadKey = errors.New("store: bad encryption key")
	// ErrWrongKey reports data sealed with a different key than the one
	// configured.
	ErrWrongKey = errors.New("store: data was encrypted with a different key")
	// ErrTampered reports a sealed value that fails authentication: it was
	// altered, or moved to another row or column.
	ErrTampered = errors.New("store: encrypted value failed authentication")
)

// sealVersion is the first byte of every sealed value, so the format can
// change later without guessing.
const sealVersion = 1

// aadDomain separates our associated data from any other use of the key.
const aadDomain = "credserver/store/v1"

// LoadKeyFile reads the store key from path; see [ParseKey] for the formats.
func LoadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("store: reading encryption key file: %w", err)
	}
	key, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %w", path, err)
	}
	return key, nil
}

// ParseKey accepts the key in one of three forms: exactly 32 raw bytes
// (head -c 32 /dev/urandom), 64 hex digits (openssl rand -hex 32), or the
// base64 of 32 bytes, standard or URL alphabet, padded or not (openssl rand
// -base64 32). Whitespace around the text forms is ignored. An all-zero key
// is refused: it is a placeholder, not a secret.
func ParseKey(b []byte) ([]byte, error) {
	key, ok := decodeKey(b)
	if !ok {
		return nil, fmt.Errorf("%w: the file must hold 32 random bytes, raw or as 64 hex digits or base64 (create one with: openssl rand -hex 32)", ErrBadKey)
	}
	if bytes.Equal(key, make([]byte, KeySize)) {
		return nil, fmt.Errorf("%w: the key is all zeros", ErrBadKey)
	}
	return key, nil
}

func decodeKey(b []byte) ([]byte, bool) {
	if len(b) == KeySize {
		// 32 printable characters are a passphrase or a shorter key in
		// text form (openssl rand -hex 16), not 32 random bytes, which
		// are all printable once in 10^14 draws.
		if !bytes.ContainsFunc(b, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return nil, false
		}
		return bytes.Clone(b), true
	}
	text := string(bytes.TrimSpace(b))
	if len(text) == 2*KeySize {
		if k, err := hex.DecodeString(text); err == nil {
			return k, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(text); err == nil && len(k) == KeySize {
			return k, true
		}
	}
	return nil, false
}

// Sealer encrypts values for the store with AES-256-GCM. A sealed value is
// version (1 byte) || key id (4 bytes) || nonce (12 bytes) || ciphertext
// and tag. The key id (a hash of the key, not the key) lets Open tell a
// wrong key from tampering. Safe for concurrent use.
type Sealer struct {
	aead  cipher.AEAD
	keyID [4]byte
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: need %d bytes, got %d", ErrBadKey, KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Sealer{aead: aead}
	sum := sha256.Sum256(append([]byte(aadDomain+"/key-id\x00"), key...))
	copy(s.keyID[:], sum[:])
	return s, nil
}

// Seal encrypts plaintext bound to the context parts (table, column,
// provider, user, ...): Open must be given the same parts.
func (s *Sealer) Seal(plaintext []byte, context ...string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		// crypto/rand never fails on supported platforms.
		panic("store: crypto/rand: " + err.Error())
	}
	out := make([]byte, 0, 1+len(s.keyID)+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, s.keyID[:]...)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, aad(context))
}

// Open decrypts a value from Seal. It returns ErrWrongKey when the value
// was sealed with another key and ErrTampered when it fails authentication
// under the given context.
func (s *Sealer) Open(sealed []byte, context ...string) ([]byte, error) {
	head := 1 + len(s.keyID) + s.aead.NonceSize()
	if len(sealed) < head+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrTampered
	}
	if !bytes.Equal(sealed[1:1+len(s.keyID)], s.keyID[:]) {
		return nil, ErrWrongKey
	}
	nonce := sealed[1+len(s.keyID) : head]
	pt, err := s.aead.Open(nil, nonce, sealed[head:], aad(context))
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

// aad encodes the context parts injectively: each is length-prefixed, so
// ("ab", "c") and ("a", "bc") differ.
func aad(parts []string) []byte {
	b := []byte(aadDomain)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}
