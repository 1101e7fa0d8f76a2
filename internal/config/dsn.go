package config

import (
	"net/url"
	"strings"
)

// dsnPassword says where a PostgreSQL connection string holds a password,
// or "" when it holds none: the ":password" of a postgres:// URL's user
// part, a password query parameter, or a password key of the key=value
// form. It never returns the password itself. A string it cannot make
// sense of is searched loosely, so a password is not missed because the
// rest is malformed.
func dsnPassword(dsn string) string {
	s := strings.TrimSpace(dsn)
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return urlPassword(s[strings.Index(s, "://")+3:])
	}
	if keywordPassword(s) {
		return "the password key"
	}
	return ""
}

// urlPassword looks at a postgres URL after "scheme://". The user part
// runs to the last "@" before the query: a password holding an unencoded
// "/" or "@" still counts as one.
func urlPassword(rest string) string {
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 && strings.Contains(rest[:i], ":") {
		return `the ":password" after the user name in user:password@`
	}
	for kv := range strings.SplitSeq(query, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if strings.EqualFold(strings.TrimSpace(k), "password") {
			return "the password query parameter"
		}
	}
	return ""
}

// keywordPassword reports whether a key=value connection string (libpq's
// "host=db user=u password='x y'") sets password. Values may be
// single-quoted with backslash escapes, and "=" may have spaces around
// it, as libpq allows.
func keywordPassword(s string) bool {
	i := 0
	skip := func() {
		for i < len(s) && isDSNSpace(s[i]) {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return false
		}
		start := i
		for i < len(s) && s[i] != '=' && !isDSNSpace(s[i]) {
			i++
		}
		key := s[start:i]
		skip()
		if i >= len(s) || s[i] != '=' {
			// Not key=value: look for the word anyway rather than let
			// a malformed string hide a password.
			return strings.Contains(strings.ToLower(s), "password")
		}
		i++ // '='
		if strings.EqualFold(key, "password") {
			return true
		}
		skip()
		if i < len(s) && s[i] == '\'' {
			for i++; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			i++ // closing quote
			continue
		}
		for i < len(s) && !isDSNSpace(s[i]) {
			if s[i] == '\\' {
				i++
			}
			i++
		}
	}
}

func isDSNSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}
