package auth

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestNewDelegationToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash := NewDelegationToken()
		if !strings.HasPrefix(tok, "csd_") || len(tok) != 47 {
			t.Fatalf("token %q: want csd_ and 43 characters", tok)
		}
		if seen[tok] {
			t.Fatal("the same token twice")
		}
		seen[tok] = true
		got, err := ParseDelegationToken(tok)
		if err != nil || got != hash || hash != sha256.Sum256([]byte(tok)) {
			t.Fatalf("ParseDelegationToken(new token) = %x, %v; want its SHA-256", got, err)
		}
		if err := checkToken(tok); err != nil {
			t.Fatalf("a new token fails the header check: %v", err)
		}
	}
}

func TestParseDelegationTokenRejects(t *testing.T) {
	good, _ := NewDelegationToken()
	for name, tok := range map[string]string{
		"empty":         "",
		"prefix only":   "csd_",
		"no prefix":     good[4:],
		"other prefix":  "csx_" + good[4:],
		"upper prefix":  "CSD_" + good[4:],
		"one short":     good[:len(good)-1],
		"one long":      good + "A",
		"padding":       good[:len(good)-1] + "=",
		"std alphabet":  good[:len(good)-1] + "+",
		"space":         good[:10] + " " + good[11:],
		"non-canonical": good[:len(good)-1] + "B", // last char carries 2 unused bits
		"hub token":     "0123456789abcdef0123456789abcdef",
		"unicode":       "csd_" + strings.Repeat("é", 21) + "a",
		"control":       good[:20] + "\x00" + good[21:],
	} {
		if _, err := ParseDelegationToken(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: ParseDelegationToken(%q) err = %v, want ErrInvalidToken", name, tok, err)
		} else if len(tok) > 8 && strings.Contains(err.Error(), tok[4:]) {
			t.Errorf("%s: the error quotes the token", name)
		}
	}
}

// FuzzParseDelegationToken: whatever comes in, the parser never panics, a
// token it accepts has the exact form NewDelegationToken makes and its
// hash is the SHA-256 of the input, and an error never quotes the input.
func FuzzParseDelegationToken(f *testing.F) {
	good, _ := NewDelegationToken()
	for _, s := range []string{good, "", "csd_", "csd_" + strings.Repeat("A", 43), "csd_" + strings.Repeat("/", 43), good + "=", "token " + good} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hash, err := ParseDelegationToken(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not match ErrInvalidToken", err)
			}
			if len(s) >= 6 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes the input")
			}
			return
		}
		if hash != sha256.Sum256([]byte(s)) {
			t.Fatal("hash is not the SHA-256 of the token")
		}
		if len(s) != 47 || !strings.HasPrefix(s, "csd_") || strings.Trim(s[4:], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("accepted %q, not of the generated form", s)
		}
		if err := checkToken(s); err != nil {
			t.Fatalf("accepted a token the header check refuses: %v", err)
		}
	})
}
