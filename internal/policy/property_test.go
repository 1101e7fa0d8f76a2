package policy_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// randomName returns a user name drawn mostly from characters that matter:
// ordinary ones, separators, glob and template syntax, dots, "%", bytes
// that are not UTF-8.
func randomName(r *rand.Rand) string {
	const alphabet = "aA0._-@+%/*?${}\\ \"'\x00\xff\xc3\xa9"
	n := r.IntN(8)
	var b strings.Builder
	for range n {
		if r.IntN(3) == 0 {
			b.WriteByte(byte(r.IntN(256)))
		} else {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
	}
	return b.String()
}

// TestPrefixesNeverCrossUsers: for random user names, every prefix starts
// with the template's literal part and is the expansion for the user's own
// segment; and no user's prefix is a prefix of (covers) another user's.
func TestPrefixesNeverCrossUsers(t *testing.T) {
	p := compile(t, testConfig)
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]string{} // prefix -> user
	type entry struct{ user, prefix string }
	var all []entry
	for range 3000 {
		name := randomName(r)
		for _, tc := range []struct{ grant, lit, suffix string }{
			{"scratch", "", "/"},
			{"lake", "home/", "/"},
		} {
			dec, err := p.Decide(policy.User{Name: name}, policy.Request{Grant: tc.grant})
			if err != nil {
				t.Fatalf("Decide(%q, %s) error = %v", name, tc.grant, err)
			}
			if len(dec.Prefixes) != 1 {
				t.Fatalf("Decide(%q, %s) prefixes = %q", name, tc.grant, dec.Prefixes)
			}
			got := dec.Prefixes[0]
			if want := tc.lit + policy.UserSegment(name) + tc.suffix; got != want || !strings.HasPrefix(got, tc.lit) {
				t.Fatalf("Decide(%q, %s) prefix = %q, want %q", name, tc.grant, got, want)
			}
			if tc.grant != "scratch" {
				continue
			}
			if other, ok := seen[got]; ok && other != name {
				t.Fatalf("users %q and %q share prefix %q", other, name, got)
			}
			if _, ok := seen[got]; !ok {
				seen[got] = name
				all = append(all, entry{name, got})
			}
		}
	}
	for i, a := range all {
		for _, b := range all[i+1:] {
			if strings.HasPrefix(a.prefix, b.prefix) || strings.HasPrefix(b.prefix, a.prefix) {
				t.Fatalf("prefix %q of %q overlaps prefix %q of %q", a.prefix, a.user, b.prefix, b.user)
			}
		}
	}
	if len(all) < 1000 {
		t.Errorf("only %d distinct users generated; the test is too weak", len(all))
	}
}

// TestGroupPrefixesAreTheUsersOwn checks {group} expansion against random
// group lists: exactly the user's matching groups, each once.
func TestGroupPrefixesAreTheUsersOwn(t *testing.T) {
	p := compile(t, testConfig)
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		name := randomName(r)
		var groups []string
		want := map[string]bool{}
		for range r.IntN(4) {
			g := randomName(r)
			if r.IntN(2) == 0 {
				g = "team-" + g
				want["teams/"+policy.UserSegment(g)+"/"+policy.UserSegment(name)+"/"] = true
			}
			groups = append(groups, g)
		}
		dec, err := p.Decide(policy.User{Name: name, Groups: groups}, policy.Request{Grant: "teams"})
		if len(want) == 0 {
			if err == nil {
				t.Fatalf("Decide(%q, %q) = %q, want refusal", name, groups, dec.Prefixes)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Decide(%q, %q) error = %v", name, groups, err)
		}
		if len(dec.Prefixes) != len(want) {
			t.Fatalf("Decide(%q, %q) prefixes = %q, want %v", name, groups, dec.Prefixes, want)
		}
		for _, pr := range dec.Prefixes {
			if !want[pr] {
				t.Fatalf("Decide(%q, %q) prefix %q is not one of %v", name, groups, pr, want)
			}
		}
	}
}

// groupPool mixes groups that grants of testConfig name with random ones.
var groupPool = []string{"staff", "instructors", "team-a", "team-b/x", "proj-a", "proj-*", "geo-staff", "g3", "g10", "x"}

func randomUser(r *rand.Rand) policy.User {
	u := policy.User{Name: randomName(r), Admin: r.IntN(4) == 0}
	if r.IntN(3) == 0 {
		u.Name = []string{"alice", "bob", "carol", "u3", "x-admin"}[r.IntN(5)]
	}
	for range r.IntN(5) {
		if r.IntN(2) == 0 {
			u.Groups = append(u.Groups, groupPool[r.IntN(len(groupPool))])
		} else {
			u.Groups = append(u.Groups, randomName(r))
		}
	}
	return u
}

// expected is the location set of a templated grant of testConfig for u,
// computed from u's own name and groups, without the policy.
func expected(grant string, u policy.User) []string {
	us := policy.UserSegment(u.Name)
	var out []string
	each := func(match func(string) bool, f func(gs string) string) {
		for _, g := range u.Groups {
			if match(g) {
				out = append(out, f(policy.UserSegment(g)))
			}
		}
	}
	switch grant {
	case "scratch":
		out = []string{"s3://hub-scratch/" + us + "/"}
	case "lake":
		out = []string{"abfs://lake/home/" + us + "/"}
	case "blob":
		out = []string{"abfs://scratch-" + policy.ContainerSegment(u.Name) + "/"}
	case "teams":
		each(func(g string) bool { return strings.HasPrefix(g, "team-") }, func(gs string) string { return "gs://hub-teams/teams/" + gs + "/" + us + "/" })
	case "projects":
		each(func(g string) bool { return strings.HasPrefix(g, "proj-") }, func(gs string) string { return "s3://hub-projects/projects/" + gs + "/" })
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestLocationsAreTheUsersOwn: for random users and groups, every
// location of every templated grant is the template expanded for the
// user's own segment and groups, never another's; and whoami's listing
// is exactly the grants Decide allows, in config order (the index drops
// none and adds none).
func TestLocationsAreTheUsersOwn(t *testing.T) {
	p := compile(t, testConfig)
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	owner := map[string]string{} // location -> user name
	for range 3000 {
		u := randomUser(r)
		var want []policy.GrantView
		for _, g := range cfg.Grants {
			dec, err := p.Decide(u, policy.Request{Grant: g.Name})
			if err != nil {
				continue
			}
			want = append(want, policy.GrantView{Name: g.Name, Provider: dec.Type, Access: g.Access, Location: dec.Location, MaxDuration: time.Duration(g.MaxDuration)})
			if want[len(want)-1].Access == "" {
				want[len(want)-1].Access = dec.Access.String()
			}
			exp := expected(g.Name, u)
			if exp == nil {
				continue
			}
			if diff := cmp.Diff(exp, dec.Locations()); diff != "" {
				t.Fatalf("Decide(%+v, %s) locations mismatch (-want +got):\n%s", u, g.Name, diff)
			}
			if g.Name == "teams" || g.Name == "projects" {
				continue // shared by the group's members
			}
			for _, loc := range dec.Locations() {
				if o, ok := owner[loc]; ok && o != u.Name {
					t.Fatalf("users %q and %q share location %q", o, u.Name, loc)
				}
				owner[loc] = u.Name
			}
		}
		if diff := cmp.Diff(want, p.Grants(u)); diff != "" {
			t.Fatalf("Grants(%+v) mismatch with Decide over every grant (-want +got):\n%s", u, diff)
		}
	}
}
