package auth

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Users with the same groups share one interned list in the cache; what
// each caller gets is still its own.
func TestInternedGroupsNotShared(t *testing.T) {
	f := newFakeHub(t)
	bob := alice
	bob.Name = "bob"
	bob.Groups = []string{"staff", "students"}
	const bobToken = "bob-token-0123456789abcdefghijk"
	f.addUser(aliceToken, alice)
	f.addUser(bobToken, bob)
	h := newTestHub(t, f, HubConfig{})

	a, err := h.Authenticate(t.Context(), aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Authenticate(t.Context(), bobToken)
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := h.cache.Peek(sha256.Sum256([]byte(aliceToken)))
	eb, _ := h.cache.Peek(sha256.Sum256([]byte(bobToken)))
	if ea.attrs != eb.attrs {
		t.Errorf("alice's and bob's cached attributes are not the one interned value")
	}
	a.Groups[0] = "admins"
	a.Groups = append(a.Groups, "root")
	b.Groups[1] = "teachers"
	for _, tok := range []string{aliceToken, bobToken} {
		id, err := h.Authenticate(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"staff", "students"}, id.Groups); diff != "" {
			t.Errorf("%s: groups changed by another caller (-want +got):\n%s", id.Name, diff)
		}
	}
}

// The interned form gives back exactly what the hub listed: nil stays nil,
// an empty list stays empty, and names of any bytes and length survive.
func TestGroupListRoundTrip(t *testing.T) {
	for _, names := range [][]string{
		nil,
		{},
		{""},
		{"", ""},
		{"students", "course-101"},
		{"a\x00b", "\x80\xff", "é", strings.Repeat("g", 200), strings.Repeat("h", 70000)},
	} {
		// cmp tells a nil slice from an empty one.
		if got := decodeGroups(encodeGroups(names)); !cmp.Equal(names, got) {
			t.Errorf("decodeGroups(encodeGroups(%q)) = %q", names, got)
		}
	}
}
