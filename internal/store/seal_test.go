package store_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/store"
)

// testKey is a fixed, obviously fake key.
var testKey = bytes.Repeat([]byte{0x5a}, store.KeySize)

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0x00, 0xff, 0x10, 0x9c}, 8) // 32 raw bytes
	hexKey := hex.EncodeToString(testKey)
	tests := []struct {
		name string
		in   []byte
		want []byte // nil: refused
	}{
		{"raw 32 bytes", raw, raw},
		{"hex", []byte(hexKey), testKey},
		{"hex with newline", []byte(hexKey + "\n"), testKey},
		{"hex upper case", []byte(strings.ToUpper(hexKey)), testKey},
		{"base64 std", []byte(base64.StdEncoding.EncodeToString(testKey) + "\n"), testKey},
		{"base64 raw url", []byte(base64.RawURLEncoding.EncodeToString(testKey)), testKey},
		{"empty", nil, nil},
		{"too short hex", []byte(hexKey[:62]), nil},
		{"16-byte key as hex", []byte(hexKey[:32]), nil},
		{"32-character passphrase", []byte("0123456789abcdef0123456789ABCDEF"), nil},
		{"33 raw bytes", append(bytes.Clone(raw), 'x'), nil},
		{"passphrase", []byte("correct horse battery staple"), nil},
		{"all zeros", make([]byte, 32), nil},
		{"all zeros hex", []byte(strings.Repeat("0", 64)), nil},
		{"hex with junk", []byte(hexKey[:63] + "g"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ParseKey(tt.in)
			if tt.want == nil {
				if err == nil || !errors.Is(err, store.ErrBadKey) {
					t.Fatalf("ParseKey accepted it (err %v)", err)
				}
				if len(tt.in) > 8 && strings.Contains(err.Error(), string(tt.in[:8])) {
					t.Errorf("error echoes the key file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("key = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	if err := os.WriteFile(good, []byte(hex.EncodeToString(testKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := store.LoadKeyFile(good); err != nil || !bytes.Equal(k, testKey) {
		t.Errorf("LoadKeyFile(good) = %x, %v", k, err)
	}
	if _, err := store.LoadKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file was accepted")
	}
}

func TestSealer(t *testing.T) {
	s, err := store.NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.NewSealer(bytes.Repeat([]byte{0x33}, 32))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("ghr_this_is_a_refresh_token")
	sealed := s.Seal(secret, "github_links", "refresh_token", "github", "alice")
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value holds the plaintext")
	}
	if again := s.Seal(secret, "github_links", "refresh_token", "github", "alice"); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	got, err := s.Open(sealed, "github_links", "refresh_token", "github", "alice")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name    string
		s       *store.Sealer
		sealed  []byte
		context []string
		want    error
	}{
		{"another user", s, sealed, []string{"github_links", "refresh_token", "github", "bob"}, store.ErrTampered},
		{"another column", s, sealed, []string{"github_links", "access_token", "github", "alice"}, store.ErrTampered},
		{"another provider", s, sealed, []string{"github_links", "refresh_token", "ghe", "alice"}, store.ErrTampered},
		{"shifted boundary", s, sealed, []string{"github_links", "refresh_token", "githuba", "lice"}, store.ErrTampered},
		{"flipped bit", s, flipped, []string{"github_links", "refresh_token", "github", "alice"}, store.ErrTampered},
		{"truncated", s, sealed[:10], []string{"github_links", "refresh_token", "github", "alice"}, store.ErrTampered},
		{"wrong key", other, sealed, []string{"github_links", "refresh_token", "github", "alice"}, store.ErrWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Open(tt.sealed, tt.context...); !errors.Is(err, tt.want) {
				t.Errorf("Open: err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := store.NewSealer(testKey[:16]); !errors.Is(err, store.ErrBadKey) {
		t.Errorf("NewSealer with 16 bytes: %v, want ErrBadKey", err)
	}
}
