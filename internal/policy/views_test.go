package policy_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/policy"
)

func TestGrants(t *testing.T) {
	p := compile(t, testConfig)
	tests := []struct {
		name string
		user policy.User
		want []policy.GrantView
	}{
		{
			name: "everyone's grants, in config order, expanded",
			user: policy.User{Name: "zed"},
			want: []policy.GrantView{
				{Name: "scratch", Provider: "aws", Access: "readwrite", Location: "s3://hub-scratch/zed/", MaxDuration: 12 * h},
				{Name: "short", Provider: "aws", Access: "read", Location: "s3://b-short/", MaxDuration: 30 * time.Minute},
				{Name: "blob", Provider: "azure", Access: "readwrite", Location: "abfs://scratch-zed/", MaxDuration: 12 * h},
				{Name: "lake", Provider: "azure", Access: "readwrite", Location: "abfs://lake/home/zed/", MaxDuration: 12 * h},
				{Name: "gh-user", Provider: "github", Access: "readwrite", Location: "https://ghe.example.org", MaxDuration: 12 * h},
			},
		},
		{
			name: "groups add grants; {group} grant needs an allowed group",
			user: policy.User{Name: "carol", Groups: []string{"staff", "instructors"}},
			want: []policy.GrantView{
				{Name: "scratch", Provider: "aws", Access: "readwrite", Location: "s3://hub-scratch/carol/", MaxDuration: 12 * h},
				{Name: "staff", Provider: "gcs", Access: "read", Location: "gs://hub-staff/shared/", MaxDuration: 12 * h},
				{Name: "short", Provider: "aws", Access: "read", Location: "s3://b-short/", MaxDuration: 30 * time.Minute},
				{Name: "blob", Provider: "azure", Access: "readwrite", Location: "abfs://scratch-carol/", MaxDuration: 12 * h},
				{Name: "lake", Provider: "azure", Access: "readwrite", Location: "abfs://lake/home/carol/", MaxDuration: 12 * h},
				{Name: "gh-user", Provider: "github", Access: "readwrite", Location: "https://ghe.example.org", MaxDuration: 12 * h},
				{Name: "gh-course", Provider: "github", Access: "read", Location: "https://ghe.example.org/my-org", MaxDuration: 12 * h},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, p.Grants(tt.user)); diff != "" {
				t.Errorf("Grants() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	none := compile(t, "hub: {api_url: 'http://h/'}\nproviders: {s3: {type: aws}}\ngrants: [{name: g, provider: s3, bucket: bbb, allow: {users: [x]}}]\n")
	if got := none.Grants(policy.User{Name: "y"}); got != nil {
		t.Errorf("Grants() = %v, want nil", got)
	}
}

func TestExplain(t *testing.T) {
	p := compile(t, testConfig)
	tests := []struct {
		user        policy.User
		grant       string
		wantAllowed bool
		wantReason  string
	}{
		{policy.User{Name: "alice"}, "scratch", true, `allow.users pattern "*" matches user "alice"`},
		{policy.User{Name: "bob"}, "a-star", true, `allow.users pattern "b?b" matches user "bob"`},
		{policy.User{Name: "erin", Groups: []string{"x", "team-q"}}, "teams", true, `allow.groups pattern "team-*" matches group "team-q"`},
		{policy.User{Name: "erin", Groups: []string{"x"}}, "staff", false, `no allow rule of grant "staff" matches user "erin" or their groups`},
		{policy.User{Name: "carol"}, "teams", false, `none of user "carol"'s groups is allowed`},
		{policy.User{Name: "alice"}, "cond", false, "does not evaluate yet"},
	}
	for _, tt := range tests {
		t.Run(tt.grant+"/"+tt.user.Name, func(t *testing.T) {
			got, err := p.Explain(tt.user, tt.grant)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != tt.wantAllowed || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("Explain() = %+v, want allowed %v, reason %q", got, tt.wantAllowed, tt.wantReason)
			}
			if got.Allowed != (got.Decision.Grant != "") {
				t.Errorf("Explain() Decision = %+v with Allowed %v", got.Decision, got.Allowed)
			}
		})
	}
	if _, err := p.Explain(policy.User{Name: "alice"}, "nope"); !errors.Is(err, policy.ErrUnknownGrant) {
		t.Errorf("Explain(unknown) error = %v", err)
	}
}

// TestCompileValidates checks that Compile refuses a Config that did not
// come through Parse and breaks the rules.
func TestCompileValidates(t *testing.T) {
	valid := func() *config.Config {
		return &config.Config{
			Listen:    "127.0.0.1:8080",
			Hub:       config.Hub{APIURL: "http://hub/api", CacheTTL: config.Duration(time.Minute)},
			Store:     config.Store{Driver: "sqlite"},
			Providers: map[string]config.Provider{"s3": {Type: "aws"}},
			Grants: []config.Grant{{Name: "g", Provider: "s3", Bucket: "bbb", Prefix: "{user}/", Access: "read",
				DefaultDuration: config.Duration(h), MaxDuration: config.Duration(2 * h), Allow: config.Allow{Users: []string{"*"}}}},
		}
	}
	if _, err := policy.Compile(valid()); err != nil {
		t.Fatalf("Compile(valid) = %v", err)
	}
	for name, breakIt := range map[string]func(*config.Config){
		"bad prefix":    func(c *config.Config) { c.Grants[0].Prefix = "x{user}/" },
		"no access":     func(c *config.Config) { c.Grants[0].Access = "" },
		"empty allow":   func(c *config.Config) { c.Grants[0].Allow = config.Allow{} },
		"zero duration": func(c *config.Config) { c.Grants[0].DefaultDuration = 0 },
		"unknown type":  func(c *config.Config) { c.Providers["s3"] = config.Provider{Type: "ftp"} },
	} {
		t.Run(name, func(t *testing.T) {
			c := valid()
			breakIt(c)
			if p, err := policy.Compile(c); err == nil {
				t.Errorf("Compile() = %v, want an error", p)
			}
		})
	}
}

// TestConcurrentDecide runs decisions in parallel under the race detector.
func TestConcurrentDecide(t *testing.T) {
	p := compile(t, testConfig)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			u := policy.User{Name: "u" + string(rune('a'+i)), Groups: []string{"team-a", "staff"}}
			for range 200 {
				for _, g := range []string{"scratch", "teams", "staff", "blob"} {
					if _, err := p.Decide(u, policy.Request{Grant: g}); err != nil {
						t.Error(err)
						return
					}
				}
				p.Grants(u)
			}
		})
	}
	wg.Wait()
}

func BenchmarkDecide(b *testing.B) {
	p := compile(b, testConfig)
	for _, grant := range []string{"alice-only", "scratch", "teams"} {
		b.Run(grant, func(b *testing.B) {
			u := policy.User{Name: "alice", Groups: []string{"x", "team-a", "team-b"}}
			r := policy.Request{Grant: grant}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Decide(u, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
