package awssts

import (
	"regexp"
	"strings"
	"testing"
)

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// hashedRE is the changed form: readable prefix, "=", 16 hex digits.
var hashedRE = regexp.MustCompile(`^[\w+=,.@-]{0,47}=[0-9a-f]{16}$`)

func TestSessionName(t *testing.T) {
	tests := []struct {
		user string
		// verbatim: the name is kept as is; otherwise wantPrefix is the
		// readable part before "=<hash>".
		verbatim   bool
		wantPrefix string
	}{
		{user: "alice", verbatim: true},
		{user: "alice.smith@example.org", verbatim: true},
		{user: "a_b-c+d=e,f", verbatim: true},
		{user: "ab", verbatim: true},
		{user: strings.Repeat("x", 64), verbatim: true},
		{user: strings.Repeat("x", 65), wantPrefix: strings.Repeat("x", 47)},
		{user: "a", wantPrefix: "a"},
		{user: "", wantPrefix: ""},
		{user: "josé", wantPrefix: "jos_"},
		{user: "alice smith", wantPrefix: "alice_smith"},
		{user: "a/b", wantPrefix: "a_b"},
		{user: "aws:admin", wantPrefix: "aws_admin"},
		{user: "名前", wantPrefix: "__"},
		// A name shaped like a changed one is changed too, so no user can
		// claim another user's changed name.
		{user: "x=0123456789abcdef", wantPrefix: "x=0123456789abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got := SessionName(tt.user)
			if !sessionNameRE.MatchString(got) {
				t.Fatalf("SessionName(%q) = %q, not a valid session name", tt.user, got)
			}
			if tt.verbatim {
				if got != tt.user {
					t.Errorf("SessionName(%q) = %q, want it unchanged", tt.user, got)
				}
				return
			}
			if !hashedRE.MatchString(got) || !strings.HasPrefix(got, tt.wantPrefix+"=") {
				t.Errorf("SessionName(%q) = %q, want %q=<16 hex>", tt.user, got, tt.wantPrefix)
			}
		})
	}
}

func TestSessionNameDistinct(t *testing.T) {
	users := []string{
		"alice", "Alice", "alice2", "alice smith", "alice_smith", "alice/smith",
		"josé", "josè", "jos_", "a", "b", "", strings.Repeat("x", 64),
		strings.Repeat("x", 65), strings.Repeat("x", 66),
	}
	// Also every user's changed name presented as a username.
	for _, u := range users[:len(users):len(users)] {
		users = append(users, SessionName(u)+"x", SessionName(u))
	}
	seen := map[string]string{}
	for _, u := range users {
		name := SessionName(u)
		if prev, ok := seen[name]; ok && prev != u {
			t.Errorf("users %q and %q share session name %q", prev, u, name)
		}
		seen[name] = u
	}
}

func FuzzSessionName(f *testing.F) {
	for _, s := range []string{"alice", "josé", "", "a", strings.Repeat("y", 70), "x=0123456789abcdef"} {
		f.Add(s, s+"2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		na, nb := SessionName(a), SessionName(b)
		for _, n := range []string{na, nb} {
			if !sessionNameRE.MatchString(n) {
				t.Fatalf("invalid session name %q", n)
			}
		}
		if a != b && na == nb {
			t.Fatalf("users %q and %q share session name %q", a, b, na)
		}
		if na != a && !hashedRE.MatchString(na) {
			t.Fatalf("SessionName(%q) = %q: changed without the hash suffix", a, na)
		}
	})
}
