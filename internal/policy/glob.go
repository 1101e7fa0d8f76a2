package policy

import (
	"strings"
	"unicode/utf8"
)

// smallSet is the size up to which an exact-name set is a slice scanned
// linearly rather than a map: comparing a handful of strings (length
// first) is faster than hashing the name, and allow lists are short.
const smallSet = 8

// matcher holds one allow list (users or groups), precompiled: exact
// names in a slice or a map, wildcard patterns in a slice, "*" as a flag.
// Matching never allocates.
type matcher struct {
	any   bool // the list holds "*"
	small []string
	exact map[string]struct{} // when there are more than smallSet names
	globs []glob
}

// glob is one wildcard pattern, with a fast path for the common shapes
// "team-*" and "*-staff".
type glob struct {
	pattern string
	kind    globKind
	lit     string // the literal part for prefix and suffix kinds
}

type globKind uint8

const (
	globGeneral globKind = iota
	globPrefix           // lit + "*"
	globSuffix           // "*" + lit
)

func newMatcher(patterns []string) matcher {
	var m matcher
	var exact []string
	for _, p := range patterns {
		switch {
		case p == "*":
			m.any = true
		case strings.ContainsAny(p, "*?"):
			m.globs = append(m.globs, newGlob(p))
		default:
			exact = append(exact, p)
		}
	}
	if len(exact) <= smallSet {
		m.small = exact
		return m
	}
	m.exact = make(map[string]struct{}, len(exact))
	for _, p := range exact {
		m.exact[p] = struct{}{}
	}
	return m
}

func newGlob(p string) glob {
	g := glob{pattern: p}
	switch {
	case strings.HasSuffix(p, "*") && !strings.ContainsAny(p[:len(p)-1], "*?"):
		g.kind, g.lit = globPrefix, p[:len(p)-1]
	case strings.HasPrefix(p, "*") && !strings.ContainsAny(p[1:], "*?"):
		g.kind, g.lit = globSuffix, p[1:]
	}
	return g
}

func (g *glob) match(s string) bool {
	switch g.kind {
	case globPrefix:
		return strings.HasPrefix(s, g.lit)
	case globSuffix:
		return strings.HasSuffix(s, g.lit)
	}
	return globMatch(g.pattern, s)
}

// match reports whether s matches a pattern of the list, and which one:
// an exact name first, then the wildcard patterns in config order, then
// "*".
func (m *matcher) match(s string) (pattern string, ok bool) {
	for _, e := range m.small {
		if e == s {
			return e, true
		}
	}
	if m.exact != nil {
		if _, ok := m.exact[s]; ok {
			return s, true
		}
	}
	for i := range m.globs {
		if m.globs[i].match(s) {
			return m.globs[i].pattern, true
		}
	}
	if m.any {
		return "*", true
	}
	return "", false
}

// empty reports whether the list matches nothing.
func (m *matcher) empty() bool {
	return !m.any && len(m.small) == 0 && len(m.exact) == 0 && len(m.globs) == 0
}

// names returns the exact names of the list.
func (m *matcher) names() []string {
	if m.exact == nil {
		return m.small
	}
	out := make([]string, 0, len(m.exact))
	for n := range m.exact {
		out = append(out, n)
	}
	return out
}

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
