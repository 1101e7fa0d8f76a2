package policy

import (
	"fmt"
	"strings"
	"testing"
)

func TestUserSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"alice2", "alice2"},
		{"Alice", "Alice"},
		{"alice.smith@example.org", "alice.smith@example.org"},
		{"a+b_c-d", "a+b_c-d"},
		{"...", "..."},
		{"a*", "a%2A"},
		{"$USER", "%24USER"},
		{"{user}", "%7Buser%7D"},
		{"a/b", "a%2Fb"},
		{"a b", "a%20b"},
		{"émile", "%C3%A9mile"},
		{"..", "%2E%2E"},
		{".", "%2E"},
		{"", "%"},
		{"%", "%25"},
		{"a%2Fb", "a%252Fb"},
		{"../x", "..%2Fx"},
		{"a\\b", "a%5Cb"},
		{`"q'`, "%22q%27"},
		{"a?\x00\n", "a%3F%00%0A"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			if got := UserSegment(tt.in); got != tt.want {
				t.Errorf("UserSegment(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// decodeSegment inverts UserSegment. It accepts only canonical output
// (upper-case hex, no needless escapes), so a successful round trip shows
// the encoding is a function with an inverse: injective.
func decodeSegment(s string) (string, error) {
	if s == "%" {
		return "", nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if !ordinary(c) {
				return "", fmt.Errorf("byte %q at %d must have been encoded", c, i)
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape at %d", i)
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape %q at %d", s[i:i+3], i)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	out := b.String()
	if strings.Contains(s, "%") && out != "." && out != ".." && isOrdinaryName(out) {
		return "", fmt.Errorf("%q needed no encoding", out)
	}
	return out, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isOrdinaryName(s string) bool {
	for i := range len(s) {
		if !ordinary(s[i]) {
			return false
		}
	}
	return s != ""
}

// checkSegment fails t unless seg is safe in paths, policies and globs.
func checkSegment(t *testing.T, name, seg string) {
	t.Helper()
	if seg == "" || seg == "." || seg == ".." {
		t.Fatalf("UserSegment(%q) = %q", name, seg)
	}
	// The design's list, and then the stronger property the encoding has:
	// nothing but letters, digits and "._-@+%".
	if i := strings.IndexAny(seg, "*?$/\\\"'` \t\n\r{}"); i >= 0 {
		t.Fatalf("UserSegment(%q) = %q holds forbidden %q", name, seg, seg[i])
	}
	for i := range len(seg) {
		if !ordinary(seg[i]) && seg[i] != '%' {
			t.Fatalf("UserSegment(%q) = %q holds %q", name, seg, seg[i])
		}
	}
}

func FuzzUserSegment(f *testing.F) {
	seeds := [][2]string{
		{"alice", "alice2"}, {"alice", "Alice"}, {".", ".."}, {"", "%"},
		{"a/b", "a%2Fb"}, {"%2E", "."}, {"a b", "a+b"}, {"émile", "\xc3"},
		{"$USER", "{user}"}, {"\x00", ""}, {"a*", "a%2A"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, sb := UserSegment(a), UserSegment(b)
		checkSegment(t, a, sa)
		checkSegment(t, b, sb)
		for _, c := range []struct{ in, seg string }{{a, sa}, {b, sb}} {
			got, err := decodeSegment(c.seg)
			if err != nil || got != c.in {
				t.Fatalf("decode(UserSegment(%q) = %q) = %q, %v", c.in, c.seg, got, err)
			}
		}
		if a != b && sa == sb {
			t.Fatalf("UserSegment(%q) == UserSegment(%q) == %q", a, b, sa)
		}
	})
}
