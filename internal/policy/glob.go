package policy

import (
	"strings"
	"unicode/utf8"
)

// matcher holds one allow list (users or groups), precompiled: exact
// names in a map, patterns with wildcards in a slice.
type matcher struct {
	any   bool // the list holds "*"
	exact map[string]struct{}
	globs []string
}

func newMatcher(patterns []string) matcher {
	m := matcher{exact: make(map[string]struct{}, len(patterns))}
	for _, p := range patterns {
		switch {
		case p == "*":
			m.any = true
		case strings.ContainsAny(p, "*?"):
			m.globs = append(m.globs, p)
		default:
			m.exact[p] = struct{}{}
		}
	}
	return m
}

// match reports whether s matches a pattern of the list, and which one.
func (m *matcher) match(s string) (pattern string, ok bool) {
	if _, ok := m.exact[s]; ok {
		return s, true
	}
	for _, p := range m.globs {
		if globMatch(p, s) {
			return p, true
		}
	}
	if m.any {
		return "*", true
	}
	return "", false
}

// empty reports whether the list matches nothing.
func (m *matcher) empty() bool { return !m.any && len(m.exact) == 0 && len(m.globs) == 0 }

// globMatch reports whether name matches pattern as a whole. "*" matches
// any run of characters (including "/" and none), "?" exactly one
// character; everything else matches itself, case-sensitively. It runs
// in O(len(pattern)·len(name)) time and does not allocate.
func globMatch(pattern, name string) bool {
	px, nx := 0, 0
	// After a "*", where to resume if the rest fails to match: the star
	// again, against one more character of name.
	nextPx, nextNx := 0, -1
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx = px
				nextNx = nx + runeLen(name, nx)
				px++
				continue
			case '?':
				if nx < len(name) {
					px++
					nx += runeLen(name, nx)
					continue
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		if nextNx >= 0 && nextNx <= len(name) {
			px, nx = nextPx, nextNx
			continue
		}
		return false
	}
	return true
}

// runeLen is the length of the character at s[i], 1 past the end.
func runeLen(s string, i int) int {
	if i >= len(s) {
		return 1
	}
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return w
}
