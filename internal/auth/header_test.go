package auth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTokenFromHeader(t *testing.T) {
	max := strings.Repeat("a", maxTokenLen)
	tests := []struct {
		in   string
		want string // "" means ErrNoToken
	}{
		{"token abc", "abc"},
		{"Token abc", "abc"},
		{"TOKEN abc", "abc"},
		{"Bearer abc", "abc"},
		{"bearer abc", "abc"},
		{"BeArEr abc", "abc"},
		{"token   abc", "abc"},
		{"token 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
		{"token " + max, max},
		{"token " + max + "a", ""},
		{"Basic abc", ""},
		{"Digest abc", ""},
		{"tokens abc", ""},
		{"to\u212Aen abc", ""}, // Kelvin sign folds to k in Unicode, not here
		{"token", ""},
		{"token ", ""},
		{"token    ", ""},
		{"abc", ""},
		{"", ""},
		{" token abc", ""},
		{"token\tabc", ""},
		{"token ab\x00c", ""},
		{"token ab\nc", ""},
		{"token ab\rc", ""},
		{"token ab\x7fc", ""},
		{"token ab c", ""},
		{"token abc ", ""},
		{"token abc\t", ""},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		t.Run(name, func(t *testing.T) {
			got, err := TokenFromHeader(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrNoToken) || got != "" {
					t.Fatalf("TokenFromHeader = %q, %v; want ErrNoToken", got, err)
				}
				if strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "aaaa") {
					t.Errorf("error repeats the header: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("TokenFromHeader = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		headers []string
		want    string // "" means ErrNoToken
	}{
		{"header", "/v1/whoami", []string{"token abc"}, "abc"},
		{"no header", "/v1/whoami", nil, ""},
		{"query string ignored", "/v1/whoami?token=abc", nil, ""},
		{"header wins over query", "/v1/whoami?token=xyz", []string{"Bearer abc"}, "abc"},
		{"two headers", "/v1/whoami", []string{"token abc", "token def"}, ""},
		{"bad scheme", "/v1/whoami", []string{"Basic YWxpY2U6cHc="}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.url, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := TokenFromRequest(r)
			if tt.want == "" {
				if !errors.Is(err, ErrNoToken) {
					t.Fatalf("TokenFromRequest = %q, %v; want ErrNoToken", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("TokenFromRequest = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzTokenFromHeader(f *testing.F) {
	for _, s := range []string{
		"token abc", "Bearer abc", "bearer  abc", "Basic abc", "token", "token ", "abc", "",
		"token a\x00b", "token a\nb", "token a b", "token " + strings.Repeat("x", maxTokenLen),
		"token " + strings.Repeat("x", maxTokenLen+1), "to\u212Aen abc", "token \xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := TokenFromHeader(v)
		if err != nil {
			if !errors.Is(err, ErrNoToken) || tok != "" {
				t.Fatalf("TokenFromHeader(%q) = %q, %v; want \"\", ErrNoToken", v, tok, err)
			}
			return
		}
		if tok == "" || len(tok) > maxTokenLen {
			t.Fatalf("TokenFromHeader(%q) = %q: empty or too long", v, tok)
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c == 0x7f {
				t.Fatalf("TokenFromHeader(%q) = %q: has byte %#x", v, tok, c)
			}
		}
		if !strings.HasSuffix(v, tok) {
			t.Fatalf("TokenFromHeader(%q) = %q: not the end of the header", v, tok)
		}
		// What precedes the token is the scheme and at least one space.
		prefix := v[:len(v)-len(tok)]
		scheme := strings.TrimRight(prefix, " ")
		if scheme == prefix || (strings.ToLower(scheme) != "token" && strings.ToLower(scheme) != "bearer") ||
			len(scheme) != len("token") && len(scheme) != len("bearer") {
			t.Fatalf("TokenFromHeader(%q) = %q: prefix %q is not a scheme and spaces", v, tok, prefix)
		}
	})
}
