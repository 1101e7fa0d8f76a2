package policy_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// The property the overlap check (config's isolation rule 4) promises:
// whenever it accepts two storage grants, no user or group name makes
// their locations meet — be equal, or one a prefix of the other — except
// for one and the same user, or one group's place in grants with no
// per-user part, or two places that are static (the same for every
// name). These tests generate grant pairs and names, adversarial ones
// included (the other grant's literal segments, encoded-looking strings,
// empty-ish names, unicode), and look for a counterexample with the
// policy's own Decide, so the real UserSegment and ContainerSegment
// decide what a name produces.

var (
	propSegments = []string{"{user}", "{group}", "teams", "users", "home", "alice", "staff", "team-a",
		"%C3%A9", "%74eams", "données", "x.y", "a@b", "%", "%2E", "Alice", "shared"}
	propContainers = []string{"scratch-{user}", "scratch-shared", "{user}-scratch", "scratch-{user}-x",
		"scratch", "{user}", "u-{user}", "aaa-x", "bob-x", "scratch-aaa-x", "u-alice"}
	propUsers  = [][]string{nil, {"*"}, {"alice"}, {"alice", "teams"}, {"team-*"}, {"a*"}, {"shared", "bob"}}
	propGroups = [][]string{nil, {"*"}, {"staff"}, {"team-*"}, {"teams"}, {"home", "users"}}
	// propNames are the user and group names tried, on top of every
	// literal of the grants: each literal as a name, decoded where it is
	// an encoding, and names that look like encodings or like nothing.
	propNames = []string{"", ".", "..", "%", "%2E", "%25", "teams", "Teams", "TEAMS", "teams ", "tëams", "é",
		"a/b", "*", "{user}", "team-a", "team-teams", "alice", "bob", "bob-x", "staff", "x", "shared",
		"aaa", "aaa-x", "x-scratch", "scratch-x", "home", "users", "données", "x.y", "a@b", "%74eams", "u"}
)

// propGrant is one generated grant.
type propGrant struct {
	prefix, container string
	users, groups     []string
}

func (g propGrant) yaml(name, provider, bucket string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    provider: %s\n", name, provider)
	if g.container != "" {
		fmt.Fprintf(&b, "    container: %q\n", g.container)
	} else {
		fmt.Fprintf(&b, "    bucket: %s\n", bucket)
	}
	fmt.Fprintf(&b, "    prefix: %q\n    allow: {users: %s, groups: %s}\n", g.prefix, yamlList(g.users), yamlList(g.groups))
	return b.String()
}

func yamlList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

const propHeader = `hub: {api_url: "http://127.0.0.1:8081/hub/api"}
providers:
  s3: {type: aws, sts_endpoint: "http://127.0.0.1:9000"}
  s3-same: {type: aws, s3_endpoint: "http://127.0.0.1:9000"}
  blob: {type: azure, account_name: acct, account_key_file: /k, hierarchical_namespace: true}
grants:
`

func randomPropGrant(r *rand.Rand, azure bool) propGrant {
	var g propGrant
	for range r.IntN(4) {
		g.prefix += propSegments[r.IntN(len(propSegments))] + "/"
	}
	if azure {
		g.container = propContainers[r.IntN(len(propContainers))]
	}
	for len(g.users)+len(g.groups) == 0 {
		g.users, g.groups = propUsers[r.IntN(len(propUsers))], propGroups[r.IntN(len(propGroups))]
	}
	return g
}

// pairConfig is the YAML of grants a and b in one store: the same bucket
// through two providers that name one MinIO, or one azure account.
func pairConfig(a, b propGrant, azure bool) string {
	pa, pb := "s3", "s3-same"
	if azure {
		pa, pb = "blob", "blob"
	}
	return propHeader + a.yaml("a", pa, "hub-data") + b.yaml("b", pb, "hub-data")
}

// identity is a caller with at most one group.
type identity struct{ name, group string }

// placed is where one identity's credential for a grant leads.
type placed struct {
	loc string // container-or-bucket "/" prefix
	id  identity
}

func places(t *testing.T, pol *policy.Policy, grant string, ids []identity) []placed {
	t.Helper()
	var out []placed
	for _, id := range ids {
		u := policy.User{Name: id.name}
		if id.group != "\x00" {
			u.Groups = []string{id.group}
		}
		dec, err := pol.Decide(u, policy.Request{Grant: grant})
		if err != nil {
			continue
		}
		for _, p := range dec.Prefixes {
			out = append(out, placed{dec.Bucket + "/" + p, id})
		}
	}
	return out
}

// benign reports whether a meeting of a's place for x and b's for y is
// one the check lets pass.
func benign(a, b propGrant, x, y identity) bool {
	hasUser := func(g propGrant) bool {
		return strings.Contains(g.prefix, "{user}") || strings.Contains(g.container, "{user}")
	}
	hasVar := func(g propGrant) bool { return hasUser(g) || strings.Contains(g.prefix, "{group}") }
	switch {
	case x.name == y.name:
		return true // one user's own places
	case !hasVar(a) && !hasVar(b):
		return true // static: as the file shows
	case !hasUser(a) && !hasUser(b) && strings.Contains(a.prefix, "{group}") && strings.Contains(b.prefix, "{group}") && x.group == y.group:
		return true // one group's places
	}
	return false
}

// counterexample returns a description of two identities whose places in
// a and b meet where they should not, or "".
func counterexample(t *testing.T, pol *policy.Policy, a, b propGrant, ids []identity) string {
	t.Helper()
	pa, pb := places(t, pol, "a", ids), places(t, pol, "b", ids)
	byLoc := make(map[string][]identity)
	for _, p := range pb {
		byLoc[p.loc] = append(byLoc[p.loc], p.id)
	}
	locs := make([]string, 0, len(byLoc))
	for l := range byLoc {
		locs = append(locs, l)
	}
	slices.Sort(locs)
	for _, p := range pa {
		// b's places at or under p.loc, then those above it.
		var meet []string
		i, _ := slices.BinarySearch(locs, p.loc)
		for ; i < len(locs) && strings.HasPrefix(locs[i], p.loc); i++ {
			meet = append(meet, locs[i])
		}
		for j := 0; j < len(p.loc)-1; j++ {
			if p.loc[j] == '/' {
				if _, ok := byLoc[p.loc[:j+1]]; ok {
					meet = append(meet, p.loc[:j+1])
				}
			}
		}
		for _, l := range meet {
			for _, y := range byLoc[l] {
				if !benign(a, b, p.id, y) {
					return fmt.Sprintf("user %q (group %q) gets %q from a, user %q (group %q) gets %q from b", p.id.name, p.id.group, p.loc, y.name, y.group, l)
				}
			}
		}
	}
	return ""
}

// propIdentities are the callers tried on a config: every name, alone
// and in every group named like a name.
func propIdentities(a, b propGrant) []identity {
	names := slices.Clone(propNames)
	for _, g := range []propGrant{a, b} {
		for seg := range strings.SplitSeq(g.prefix, "/") {
			names = append(names, seg)
			if n, ok := config.SegmentName(seg); ok {
				names = append(names, n)
			}
		}
		for part := range strings.SplitSeq(g.container, "{user}") {
			names = append(names, strings.Trim(part, "-"))
		}
		if g.container != "" && !strings.Contains(g.container, "{user}") {
			for _, c := range propContainers {
				if pre, suf, ok := strings.Cut(c, "{user}"); ok && strings.HasPrefix(g.container, pre) && strings.HasSuffix(g.container, suf) &&
					len(g.container) > len(pre)+len(suf) {
					names = append(names, g.container[len(pre):len(g.container)-len(suf)])
				}
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	// Without {group} a group only decides who is let in: the groups
	// the allow lists name, and one they do not, are enough.
	groups := names
	if !strings.Contains(a.prefix+b.prefix, "{group}") {
		groups = append([]string{"team-a", "nobody"}, a.groups...)
		groups = append(groups, b.groups...)
	}
	ids := make([]identity, 0, len(names)*(len(groups)+1))
	for _, n := range names {
		ids = append(ids, identity{n, "\x00"})
		for _, g := range groups {
			ids = append(ids, identity{n, g})
		}
	}
	return ids
}

func TestOverlapCheckProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2))
	n := 1000
	if testing.Short() {
		n = 300
	}
	accepted, refused := 0, 0
	for range n {
		azure := r.IntN(4) == 0
		a, b := randomPropGrant(r, azure), randomPropGrant(r, azure)
		text := pairConfig(a, b, azure)
		cfg, err := config.Parse([]byte(text))
		if err != nil {
			if strings.Contains(err.Error(), "can reach the same data") || strings.Contains(err.Error(), "covers the per-user") {
				refused++
			}
			continue
		}
		accepted++
		pol, err := policy.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if ce := counterexample(t, pol, a, b, propIdentities(a, b)); ce != "" {
			t.Fatalf("the check accepted\n%s\nbut %s", text, ce)
		}
	}
	// The generator must explore both sides of the check.
	if accepted < n/5 || refused < n/10 {
		t.Errorf("accepted %d and refused %d of %d generated configs", accepted, refused, n)
	}
	t.Logf("accepted %d, refused for overlapping %d, of %d", accepted, refused, n)
}

// TestOverlapCheckAcceptsFine: pairs no name can make meet, or only for
// one user or group, are accepted; each is a config an admin would write.
func TestOverlapCheckAcceptsFine(t *testing.T) {
	all := []string{"*"}
	for _, tt := range []struct {
		name string
		a, b propGrant
	}{
		{"users and teams", propGrant{prefix: "users/{user}/", users: all}, propGrant{prefix: "teams/{group}/", groups: all}},
		{"a user's own twice", propGrant{prefix: "{user}/", users: all}, propGrant{prefix: "{user}/", users: all}},
		{"a user's own inside", propGrant{prefix: "{user}/", users: all}, propGrant{prefix: "{user}/{group}/", groups: all}},
		{"a team's shared folder", propGrant{prefix: "teams/{group}/", groups: all}, propGrant{prefix: "teams/{group}/shared/", groups: all}},
		{"named users only", propGrant{prefix: "{user}/", users: []string{"alice", "bob"}}, propGrant{prefix: "datasets/", groups: []string{"staff"}}},
		{"groups by pattern", propGrant{prefix: "{group}/", groups: []string{"team-*"}}, propGrant{prefix: "datasets/", users: all}},
		{"a literal no name gives", propGrant{prefix: "{user}/", users: all}, propGrant{prefix: "données/", groups: []string{"staff"}}},
		{"static beside static", propGrant{prefix: "", groups: []string{"staff"}}, propGrant{prefix: "pub/", users: []string{"alice"}}},
		{"containers apart", propGrant{container: "scratch-{user}", users: all}, propGrant{container: "shared-data", groups: all}},
		{"one container template", propGrant{container: "u-{user}", users: all}, propGrant{container: "u-{user}", users: all}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := config.Parse([]byte(pairConfig(tt.a, tt.b, tt.a.container != ""))); err != nil {
				t.Error(err)
			}
		})
	}
	// {user}/ in two buckets.
	two := propHeader + propGrant{prefix: "{user}/", users: all}.yaml("a", "s3", "bucket-a") + propGrant{prefix: "{user}/", users: all}.yaml("b", "s3", "bucket-b")
	if _, err := config.Parse([]byte(two)); err != nil {
		t.Error(err)
	}
}

// FuzzOverlapCheck: for any two prefixes (or containers) the config
// accepts, the two fuzzed callers' places do not meet unless benign.
func FuzzOverlapCheck(f *testing.F) {
	f.Add("{user}/", "teams/{group}/", "", "", "teams", "", "alice", "team-a", uint8(0))
	f.Add("{user}/", "users/{user}/", "", "", "users", "x", "users", "y", uint8(1))
	f.Add("", "", "scratch-{user}", "scratch-shared", "shared", "", "bob", "staff", uint8(2))
	f.Add("home/{user}/", "home/{group}/", "", "", "staff", "", "bob", "staff", uint8(3))
	f.Fuzz(func(t *testing.T, prefixA, prefixB, containerA, containerB, userX, groupX, userY, groupY string, allow uint8) {
		azure := containerA != "" || containerB != ""
		if azure && (containerA == "" || containerB == "") {
			return
		}
		a := propGrant{prefix: prefixA, container: containerA, users: propUsers[int(allow)%len(propUsers)], groups: propGroups[int(allow/8)%len(propGroups)]}
		b := propGrant{prefix: prefixB, container: containerB, users: propUsers[int(allow/3)%len(propUsers)], groups: propGroups[int(allow/16)%len(propGroups)]}
		if len(a.users)+len(a.groups) == 0 || len(b.users)+len(b.groups) == 0 {
			return
		}
		cfg, err := config.Parse([]byte(pairConfig(a, b, azure)))
		if err != nil {
			return
		}
		pol, err := policy.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ids := []identity{{userX, groupX}, {userY, groupY}, {userX, "\x00"}, {userY, "\x00"}}
		if ce := counterexample(t, pol, a, b, ids); ce != "" {
			t.Fatalf("the check accepted a %q %q and b %q %q, but %s", containerA, prefixA, containerB, prefixB, ce)
		}
	})
}

// TestSegmentNameInverse: config.SegmentName, which the overlap check
// uses to tell what name a literal segment stands for, is the inverse of
// UserSegment.
func TestSegmentNameInverse(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	for _, n := range append(slices.Clone(propNames), "\xff", "a%b", "%%", "%2e") {
		if got, ok := config.SegmentName(policy.UserSegment(n)); !ok || got != n {
			t.Errorf("SegmentName(UserSegment(%q) = %q) = %q, %v", n, policy.UserSegment(n), got, ok)
		}
	}
	for range 20000 {
		n := randomName(r)
		if got, ok := config.SegmentName(policy.UserSegment(n)); !ok || got != n {
			t.Fatalf("SegmentName(UserSegment(%q)) = %q, %v", n, got, ok)
		}
	}
}

func FuzzSegmentName(f *testing.F) {
	for _, s := range []string{"teams", "%", "%2E", "%2E%2E", "%C3%A9", "%74eams", "%2e", "a%2", "données", ".", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := config.SegmentName(s); ok && policy.UserSegment(n) != s {
			t.Fatalf("SegmentName(%q) = %q, whose segment is %q", s, n, policy.UserSegment(n))
		}
		if got, ok := config.SegmentName(policy.UserSegment(s)); !ok || got != s {
			t.Fatalf("SegmentName(UserSegment(%q)) = %q, %v", s, got, ok)
		}
	})
}
