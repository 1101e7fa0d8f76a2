package policy

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
)

// hashOf is the hash part an encoded segment of name must end with,
// computed independently of ContainerSegment.
func hashOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:13]
}

func TestContainerSegment(t *testing.T) {
	long := strings.Repeat("abcdefghij", 4)
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"jdoe-42", "jdoe-42"},
		{"a-b-c", "a-b-c"},
		{"007", "007"},
		{long, long},
		{"ab", "ab-" + hashOf("ab")},
		{"Alice", "alice-" + hashOf("Alice")},
		{"a--b", "a-b-" + hashOf("a--b")},
		{"-ab", "ab-" + hashOf("-ab")},
		{"ab-", "ab-" + hashOf("ab-")},
		{"", "u-" + hashOf("")},
		{"---", "u-" + hashOf("---")},
		{"émile", "mile-" + hashOf("émile")},
		{"alice.smith@example.org", "alice-smith-example-org-" + hashOf("alice.smith@example.org")},
		{"a_b", "a-b-" + hashOf("a_b")},
		{long + "k", "abcdefghijabcdefghijabcdef-" + hashOf(long+"k")},
		{"abcdefghijklmnopqrstuvwxy-" + long, "abcdefghijklmnopqrstuvwxy-" + hashOf("abcdefghijklmnopqrstuvwxy-"+long)},
		// Shaped like an encoded segment: encoded itself, so no
		// ordinary name can equal the segment of another name.
		{"alice-abcdefghijklm", "alice-abcdefghijklm-" + hashOf("alice-abcdefghijklm")},
		{"alice-" + hashOf("Alice"), "alice-" + hashOf("Alice") + "-" + hashOf("alice-"+hashOf("Alice"))},
		// One character short of the shape, or outside its alphabet:
		// ordinary.
		{"alice-abcdefghijkl", "alice-abcdefghijkl"},
		{"alice-abcdefghijkl8", "alice-abcdefghijkl8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ContainerSegment(tt.in); got != tt.want {
				t.Errorf("ContainerSegment(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// checkContainerSegment fails t unless seg is a container-safe segment
// for name: charset, length, hyphens, and either name itself or the
// encoded form ending in name's hash.
func checkContainerSegment(t *testing.T, name, seg string) {
	t.Helper()
	if len(seg) < config.MinContainerSegment || len(seg) > config.MaxContainerSegment {
		t.Fatalf("ContainerSegment(%q) = %q: length %d", name, seg, len(seg))
	}
	for i := range len(seg) {
		if c := seg[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			t.Fatalf("ContainerSegment(%q) = %q holds %q", name, seg, c)
		}
	}
	if strings.Contains(seg, "--") || seg[0] == '-' || seg[len(seg)-1] == '-' {
		t.Fatalf("ContainerSegment(%q) = %q: bad hyphen", name, seg)
	}
	if seg == name {
		if encodedShape(seg) {
			t.Fatalf("ContainerSegment(%q) kept a name shaped like an encoded segment", name)
		}
		return
	}
	if !encodedShape(seg) || !strings.HasSuffix(seg, "-"+hashOf(name)) {
		t.Fatalf("ContainerSegment(%q) = %q: not name, nor ending in its hash", name, seg)
	}
	if plainContainer(name) {
		t.Fatalf("ContainerSegment(%q) = %q encoded an ordinary name", name, seg)
	}
}

// FuzzContainerSegment: every output is a valid segment (so that
// "scratch-{user}" is a valid container name), and different names get
// different segments: an output equal to its input is never shaped like
// an encoded one, and an encoded one ends in its input's hash.
func FuzzContainerSegment(f *testing.F) {
	for _, s := range [][2]string{
		{"alice", "Alice"}, {"ab", "ab-" + hashOf("ab")}, {"", "-"}, {"a--b", "a-b"},
		{"émile", "mile"}, {"alice-abcdefghijklm", "alice"}, {strings.Repeat("a", 41), strings.Repeat("a", 40)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, sb := ContainerSegment(a), ContainerSegment(b)
		checkContainerSegment(t, a, sa)
		checkContainerSegment(t, b, sb)
		if a != b && sa == sb {
			t.Fatalf("ContainerSegment(%q) == ContainerSegment(%q) == %q", a, b, sa)
		}
		c := "scratch-" + sa
		if len(c) > 63 || strings.Contains(c, "--") {
			t.Fatalf("container %q is not valid", c)
		}
	})
}
