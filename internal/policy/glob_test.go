package policy

import "testing"

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
	if len(m.exact) != 1 || len(m.globs) != 2 || !m.any {
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
