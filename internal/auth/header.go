package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// maxTokenLen bounds accepted tokens. JupyterHub tokens are 32 hex digits;
// the margin admits admin-defined tokens while keeping the hub request, the
// cache key input and any abuse small.
const maxTokenLen = 512

// TokenFromRequest returns the hub token from r's Authorization header (see
// [TokenFromHeader]). It never looks at the URL: a token in the query string
// is ignored, because URLs end up in logs. Several Authorization headers are
// ambiguous and rejected. Errors match [ErrNoToken].
func TokenFromRequest(r *http.Request) (string, error) {
	// The key is canonical already: index the map without
	// canonicalising it again (what Header.Values does).
	vs := r.Header["Authorization"]
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("%w: missing Authorization header", ErrNoToken)
	case 1:
		return TokenFromHeader(vs[0])
	default:
		return "", fmt.Errorf("%w: more than one Authorization header", ErrNoToken)
	}
}

// TokenFromHeader extracts the token from an Authorization header value of
// the form "<scheme> <token>", where the scheme is "token" or "Bearer" in any
// ASCII case (the hub's own rule) and one or more spaces separate the two.
//
// On success the token is non-empty, at most 512 bytes, free of spaces and
// control characters, and v ends with it. Errors match [ErrNoToken] and never
// include any part of v.
func TokenFromHeader(v string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("%w: missing Authorization header", ErrNoToken)
	}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return "", fmt.Errorf("%w: Authorization header has no scheme", ErrNoToken)
	}
	if !asciiEqualFold(scheme, "token") && !asciiEqualFold(scheme, "bearer") {
		return "", fmt.Errorf("%w: Authorization scheme must be token or Bearer", ErrNoToken)
	}
	tok := strings.TrimLeft(rest, " ")
	if err := checkToken(tok); err != nil {
		return "", err
	}
	return tok, nil
}

// checkToken rejects what cannot be a hub token before it goes anywhere near
// a header we send or a log line. Bytes of 0x80 and above are allowed:
// admin-defined tokens are arbitrary strings and Go sends them verbatim.
func checkToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("%w: empty token", ErrNoToken)
	}
	if len(tok) > maxTokenLen {
		return fmt.Errorf("%w: token longer than %d bytes", ErrNoToken, maxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: token contains a space or control character", ErrNoToken)
		}
	}
	return nil
}

// asciiEqualFold is strings.EqualFold without Unicode folding, so that
// "to\u212Aen" (Kelvin sign) is not taken for "token".
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
