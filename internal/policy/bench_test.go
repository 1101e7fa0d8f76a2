package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

// Benchmark shape (issue 3): 10,000 grants over 1,000 groups, a user in
// 20 of them. The numbers are reported, not asserted; run
//
//	go test -run XX -bench . -benchmem ./internal/policy/
//
// and compare the decision path with BenchmarkMapLookupBaseline, a map
// lookup in a map of the same size, measured in the same run.
const (
	benchGrants = 10_000
	benchGroups = 1_000
	benchMember = 20
)

func groupName(i int) string { return fmt.Sprintf("grp-%04d", i%benchGroups) }

// bigPolicy has benchGrants grants: each allows two exact groups, every
// tenth also a group glob, every hundredth also a user glob; a few are
// {user} and {group} grants. The user is in benchMember groups.
func bigPolicy(b *testing.B) (*policy.Policy, policy.User) {
	b.Helper()
	cfg := &config.Config{
		Listen:    "127.0.0.1:8080",
		Hub:       config.Hub{APIURL: "http://hub/api", CacheTTL: config.Duration(time.Minute)},
		Store:     config.Store{Driver: "sqlite"},
		Providers: map[string]config.Provider{"s3": {Type: "aws"}},
	}
	for i := range benchGrants {
		g := config.Grant{
			Name: fmt.Sprintf("g%05d", i), Provider: "s3", Bucket: fmt.Sprintf("bucket-%05d", i), Access: "read",
			DefaultDuration: config.Duration(time.Hour), MaxDuration: config.Duration(12 * time.Hour),
			Allow: config.Allow{Groups: []string{groupName(i), groupName(i*7 + 3)}},
		}
		if i%10 == 0 {
			g.Allow.Groups = append(g.Allow.Groups, fmt.Sprintf("grp-%d*", i%100))
		}
		if i%100 == 0 {
			g.Allow.Users = []string{fmt.Sprintf("user-%d?", i%10)}
		}
		cfg.Grants = append(cfg.Grants, g)
	}
	cfg.Grants[1].Prefix = "{user}/"
	cfg.Grants[2].Prefix = "projects/{group}/"
	cfg.Grants[2].Allow.Groups = append(cfg.Grants[2].Allow.Groups, "proj-*")
	u := policy.User{Name: "alice"}
	for i := range benchMember {
		u.Groups = append(u.Groups, groupName(i*50+1))
	}
	p, err := policy.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return p, u
}

// requests returns n requests the user is allowed (allowed true) or
// refused, spread over the policy.
func requests(b *testing.B, p *policy.Policy, u policy.User, allowed bool, n int) []policy.Request {
	var out []policy.Request
	for i := 0; i < benchGrants && len(out) < n; i += 7 {
		r := policy.Request{Grant: fmt.Sprintf("g%05d", i)}
		if p.Check(u, r).Allowed() == allowed {
			out = append(out, r)
		}
	}
	if len(out) < n {
		b.Fatalf("only %d requests with allowed=%v", len(out), allowed)
	}
	return out
}

// BenchmarkDecide10kGrants is the decision path: which grant, allowed or
// not, by which rule (Policy.Check), without working out a location.
func BenchmarkDecide10kGrants(b *testing.B) {
	p, u := bigPolicy(b)
	for _, allowed := range []bool{true, false} {
		reqs := requests(b, p, u, allowed, 64)
		b.Run(fmt.Sprintf("allowed=%v", allowed), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if p.Check(u, reqs[i%len(reqs)]).Allowed() != allowed {
					b.Fatal("verdict changed")
				}
				i++
			}
		})
	}
}

// BenchmarkDecideExpand is the whole of Decide: the decision and the
// location, for a fixed prefix (no allocation), a {user} prefix and a
// {group} prefix.
func BenchmarkDecideExpand(b *testing.B) {
	p, u := bigPolicy(b)
	u.Groups = append(u.Groups, "proj-a", "proj-b")
	for _, tc := range []struct{ name, grant string }{
		{"fixed", requests(b, p, u, true, 1)[0].Grant},
		{"user", "g00001"},
		{"group", "g00002"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := policy.Request{Grant: tc.grant}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Decide(u, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGrants10k is the whoami listing over the same policy.
func BenchmarkGrants10k(b *testing.B) {
	p, u := bigPolicy(b)
	n := len(p.Grants(u))
	b.ReportAllocs()
	for b.Loop() {
		if len(p.Grants(u)) != n {
			b.Fatal("listing changed")
		}
	}
	b.ReportMetric(float64(n), "grants/op")
}

// BenchmarkDecideWhen is a decision through a CEL condition, which
// allocates: reported to show the cost of a `when`.
func BenchmarkDecideWhen(b *testing.B) {
	p := compile(b, testConfig)
	u := policy.User{Name: "sam", Groups: []string{"staff", "proj-a"}}
	r := policy.Request{Grant: "short-only"}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Check(u, r).Allowed() {
			b.Fatal("refused")
		}
	}
}

// BenchmarkMapLookupBaseline is one lookup in a map of benchGrants
// string keys: the floor any decision by grant name pays.
func BenchmarkMapLookupBaseline(b *testing.B) {
	m := make(map[string]*int, benchGrants)
	keys := make([]string, 0, 64)
	for i := range benchGrants {
		k := fmt.Sprintf("g%05d", i)
		m[k] = new(int)
		if i%150 == 0 && len(keys) < 64 {
			keys = append(keys, k)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if m[keys[i%len(keys)]] == nil {
			b.Fatal("missing")
		}
		i++
	}
}
