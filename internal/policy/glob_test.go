package policy

import (
	"testing"
	"unicode/utf8"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "anything/at all", true},
		{"alice", "alice", true},
		{"alice", "alice2", false},
		{"alice", "Alice", false},
		{"alice", "xalice", false},
		{"a*", "a", true},
		{"a*", "alice", true},
		{"a*", "bob", false},
		{"*e", "alice", true},
		{"*e", "alicex", false},
		{"a*e", "ae", true},
		{"a*e", "alice", true},
		{"a*e", "alicee", true},
		{"a*e", "alices", false},
		{"?", "", false},
		{"?", "a", true},
		{"?", "ab", false},
		{"?", "é", true},
		{"??", "é", false},
		{"b?b", "bob", true},
		{"b?b", "bb", false},
		{"team-*", "team-a", true},
		{"team-*", "team-", true},
		{"team-*", "team", false},
		{"*-*-*", "a-b-c", true},
		{"*-*-*", "a-b", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*?", "", false},
		{"*?", "x", true},
		{"é*", "émile", true},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"[ab]", "a", false},
		{"[ab]", "[ab]", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.name, func(t *testing.T) {
			if got := globMatch(tt.pattern, tt.name); got != tt.want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestMatcher(t *testing.T) {
	m := newMatcher([]string{"alice", "b*", "c?", "*"})
	if len(m.small) != 1 || m.exact != nil || len(m.globs) != 2 || !m.any {
		t.Fatalf("newMatcher split = %+v", m)
	}
	tests := []struct{ name, wantPattern string }{
		{"alice", "alice"},
		{"bob", "b*"},
		{"cd", "c?"},
		{"zed", "*"},
	}
	for _, tt := range tests {
		if got, ok := m.match(tt.name); !ok || got != tt.wantPattern {
			t.Errorf("match(%q) = %q, %v; want %q", tt.name, got, ok, tt.wantPattern)
		}
	}
	none := newMatcher(nil)
	if _, ok := none.match(""); ok || !none.empty() {
		t.Error("an empty matcher matched")
	}
}

func TestMatcherLargeSet(t *testing.T) {
	var names []string
	for i := range smallSet + 1 {
		names = append(names, string(rune('a'+i)))
	}
	m := newMatcher(append(names, "z*"))
	if m.small != nil || len(m.exact) != smallSet+1 {
		t.Fatalf("newMatcher did not switch to a map: %+v", m)
	}
	for _, n := range names {
		if got, ok := m.match(n); !ok || got != n {
			t.Errorf("match(%q) = %q, %v", n, got, ok)
		}
	}
	if got, ok := m.match("zed"); !ok || got != "z*" {
		t.Errorf("match(zed) = %q, %v", got, ok)
	}
	if _, ok := m.match("y"); ok {
		t.Error("match(y) matched")
	}
}

// FuzzGlob checks the prefix and suffix fast paths against globMatch.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"team-*", "team-a"}, {"*-staff", "geo-staff"}, {"*é", "café"}, {"a*", "\xffa"}, {"*\xa9", "é"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if !utf8.ValidString(pattern) {
			return // config rejects such patterns
		}
		g := newGlob(pattern)
		if got, want := g.match(name), globMatch(pattern, name); got != want {
			t.Fatalf("glob %q (kind %d) match %q = %v, globMatch = %v", pattern, g.kind, name, got, want)
		}
	})
}
