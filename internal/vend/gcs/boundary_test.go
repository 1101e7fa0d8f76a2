package gcs

import (
	"errors"
	"fmt"
	"github.com/credserver/credserver/internal/policy"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/vend"
)

func TestBoundaryRefuses(t *testing.T) {
	tests := []struct {
		name     string
		bucket   string
		prefixes []string
		access   policy.Access
		wantErr  error
	}{
		{"single quote", "b-1", []string{"a'b/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"closing the string", "b-1", []string{"x') || true || ('/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"backslash", "b-1", []string{`a\/`}, policy.AccessRead, errInvalidBoundaryInput},
		{"newline", "b-1", []string{"a\n/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"DEL", "b-1", []string{"a\x7f/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"C1 control", "b-1", []string{"a\u0085/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"line separator", "b-1", []string{"a\u2028/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"invalid UTF-8", "b-1", []string{"a\xff/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"no trailing slash", "b-1", []string{"alice"}, policy.AccessRead, errInvalidBoundaryInput},
		{"one bad among good", "b-1", []string{"ok/", "b'ad/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"no prefixes", "b-1", nil, policy.AccessRead, errInvalidBoundaryInput},
		{"bucket with a slash", "b/objects", []string{"a/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"bucket with a quote", "b'1", []string{"a/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"short bucket", "b", []string{"a/"}, policy.AccessRead, errInvalidBoundaryInput},
		{"unknown access", "b-1", []string{"a/"}, policy.Access(7), errInvalidBoundaryInput},
		{"condition too long", "b-1", manyPrefixes(20), policy.AccessRead, vend.ErrPolicyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := Boundary(tt.bucket, tt.prefixes, tt.access)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Boundary = %+v, %v; want an error wrapping %v", rules, err, tt.wantErr)
			}
		})
	}
}

func manyPrefixes(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("groups/group-number-%03d/", i))
	}
	return out
}

// TestBoundaryFits: ten group prefixes of ordinary length stay under the
// condition limit.
func TestBoundaryFits(t *testing.T) {
	rules, err := Boundary("hub-shared", manyPrefixes(9), policy.AccessReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].Condition == nil {
		t.Fatalf("rules = %+v, want one conditioned rule", rules)
	}
}

// FuzzBoundary: whatever the prefix, either Boundary refuses it or each
// prefix stands inside its own two quoted strings, so no input adds a
// clause to the condition.
func FuzzBoundary(f *testing.F) {
	for _, s := range []string{"alice/", "star%2Auser/", "a'b/", `a\'/`, "x') || true || ('/", "", "é/"} {
		f.Add(s, "groups/geo/")
	}
	f.Fuzz(func(t *testing.T, p1, p2 string) {
		rules, err := Boundary("hub-scratch", []string{p1, p2}, policy.AccessRead)
		if err != nil {
			return
		}
		if len(rules) != 1 {
			t.Fatalf("%d rules", len(rules))
		}
		if p1 == "" || p2 == "" {
			if rules[0].Condition != nil {
				t.Fatalf("whole-bucket request got a condition")
			}
			return
		}
		expr := rules[0].Condition.Expression
		if want := condition("hub-scratch", []string{p1, p2}); expr != want {
			t.Fatalf("expression %q, want %q", expr, want)
		}
		// Four quoted strings per prefix, as written in condition.
		if n := strings.Count(expr, "'"); n != 16 {
			t.Fatalf("expression %q has %d quotes, want 16", expr, n)
		}
		if strings.ContainsAny(expr, "\\\n\r") {
			t.Fatalf("expression %q holds an escape or line break", expr)
		}
	})
}
