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
				{Name: "short", Provider: "aws", Access: "read", Location: "s3://b-short/", MaxDuration: 45 * time.Minute},
				{Name: "blob", Provider: "azure", Access: "readwrite", Location: "abfs://scratch-zed/", MaxDuration: 12 * h},
				{Name: "lake", Provider: "azure", Access: "readwrite", Location: "abfs://lake/home/zed/", MaxDuration: 12 * h},
				{Name: "gh-user", Provider: "github", Access: "readwrite", Location: "https://ghe.example.org", MaxDuration: 12 * h},
				{Name: "cond", Provider: "aws", Access: "read", Location: "s3://b-cond/", MaxDuration: 12 * h},
			},
		},
		{
			name: "groups add grants; {group} grant needs an allowed group",
			user: policy.User{Name: "carol", Groups: []string{"staff", "instructors"}},
			want: []policy.GrantView{
				{Name: "scratch", Provider: "aws", Access: "readwrite", Location: "s3://hub-scratch/carol/", MaxDuration: 12 * h},
				{Name: "staff", Provider: "gcs", Access: "read", Location: "gs://hub-staff/shared/", MaxDuration: 12 * h},
				{Name: "short", Provider: "aws", Access: "read", Location: "s3://b-short/", MaxDuration: 45 * time.Minute},
				{Name: "blob", Provider: "azure", Access: "readwrite", Location: "abfs://scratch-carol/", MaxDuration: 12 * h},
				{Name: "lake", Provider: "azure", Access: "readwrite", Location: "abfs://lake/home/carol/", MaxDuration: 12 * h},
				{Name: "gh-user", Provider: "github", Access: "readwrite", Location: "https://ghe.example.org", MaxDuration: 12 * h},
				{Name: "gh-course", Provider: "github", Access: "read", Location: "https://ghe.example.org/my-org", MaxDuration: 12 * h},
				{Name: "cond", Provider: "aws", Access: "read", Location: "s3://b-cond/", MaxDuration: 12 * h},
				{Name: "short-only", Provider: "aws", Access: "read", Location: "s3://b-short-only/", MaxDuration: 12 * h},
			},
		},
		{
			name: "conditions see the admin flag; exact names, suffix globs and {group} through the index",
			user: policy.User{Name: "bob", Groups: []string{"proj-z", "g9", "ocean-staff"}, Admin: true},
			want: []policy.GrantView{
				{Name: "scratch", Provider: "aws", Access: "readwrite", Location: "s3://hub-scratch/bob/", MaxDuration: 12 * h},
				{Name: "a-star", Provider: "aws", Access: "read", Location: "s3://b-a/x/", MaxDuration: 12 * h},
				{Name: "short", Provider: "aws", Access: "read", Location: "s3://b-short/", MaxDuration: 45 * time.Minute},
				{Name: "blob", Provider: "azure", Access: "readwrite", Location: "abfs://scratch-bob/", MaxDuration: 12 * h},
				{Name: "lake", Provider: "azure", Access: "readwrite", Location: "abfs://lake/home/bob/", MaxDuration: 12 * h},
				{Name: "gh-user", Provider: "github", Access: "readwrite", Location: "https://ghe.example.org", MaxDuration: 12 * h},
				{Name: "cond", Provider: "aws", Access: "read", Location: "s3://b-cond/", MaxDuration: 12 * h},
				{Name: "admins", Provider: "aws", Access: "read", Location: "s3://b-admins/", MaxDuration: 12 * h},
				{Name: "projects", Provider: "aws", Access: "readwrite", Location: "s3://hub-projects/projects/proj-z/", MaxDuration: 12 * h},
				{Name: "suffix", Provider: "aws", Access: "read", Location: "s3://b-suffix/", MaxDuration: 12 * h},
				{Name: "many", Provider: "aws", Access: "read", Location: "s3://b-many/", MaxDuration: 12 * h},
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
		req         policy.Request
		wantAllowed bool
		wantReason  string
		wantLocs    []string
	}{
		{policy.User{Name: "alice"}, policy.Request{Grant: "scratch"}, true, `allow.users "*" matched user "alice"`,
			[]string{"s3://hub-scratch/alice/"}},
		{policy.User{Name: "bob"}, policy.Request{Grant: "a-star"}, true, `allow.users "b?b" matched user "bob"`, []string{"s3://b-a/x/"}},
		{policy.User{Name: "erin", Groups: []string{"x", "team-q", "team-p"}}, policy.Request{Grant: "teams"}, true, `allow.groups "team-*" matched group "team-q"`,
			[]string{"gs://hub-teams/teams/team-p/erin/", "gs://hub-teams/teams/team-q/erin/"}},
		{policy.User{Name: "erin", Groups: []string{"x"}}, policy.Request{Grant: "staff"}, false, `no allow rule matched`, nil},
		{policy.User{Name: "carol"}, policy.Request{Grant: "teams"}, false,
			`allow.users "carol" matched user "carol", but the prefix needs {group} and no group of the user matches allow.groups`, nil},
		{policy.User{Name: "alice"}, policy.Request{Grant: "cond"}, true, `allow.users "*" matched user "alice"; when: condition true`, []string{"s3://b-cond/"}},
		{policy.User{Name: "s", Groups: []string{"staff"}}, policy.Request{Grant: "short-only", Duration: 2 * h}, false, "when: condition false", nil},
		{policy.User{Name: "alice"}, policy.Request{Grant: "broken-when"}, false, "when: condition could not be evaluated, denied: ", nil},
		{policy.User{Name: "alice"}, policy.Request{Grant: "scratch", Duration: 13 * h}, false, "duration 13h exceeds this grant's maximum of 12h", nil},
		{policy.User{Name: "ian", Groups: []string{"instructors"}}, policy.Request{Grant: "gh-course"}, true, `allow.groups "instructors" matched group "instructors"`,
			[]string{"https://ghe.example.org/my-org"}},
	}
	for _, tt := range tests {
		t.Run(tt.req.Grant+"/"+tt.user.Name, func(t *testing.T) {
			got, err := p.ExplainRequest(tt.user, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != tt.wantAllowed || !strings.HasPrefix(got.Reason, tt.wantReason) {
				t.Errorf("Explain() = %v, %q; want %v, %q", got.Allowed, got.Reason, tt.wantAllowed, tt.wantReason)
			}
			if got.Allowed != (got.Decision.Grant != "") || got.Allowed != got.Verdict.Allowed() {
				t.Errorf("Explain() Decision = %+v with Allowed %v", got.Decision, got.Allowed)
			}
			if diff := cmp.Diff(tt.wantLocs, got.Decision.Locations()); diff != "" {
				t.Errorf("Locations() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := p.Explain(policy.User{Name: "alice"}, "nope"); !errors.Is(err, policy.ErrUnknownGrant) {
		t.Errorf("Explain(unknown) error = %v", err)
	}
	ex, err := p.Explain(policy.User{Name: "s", Groups: []string{"staff"}}, "short-only")
	if err != nil || !ex.Allowed || ex.When != `request.duration <= duration("1h")` || ex.MaxDuration != 12*h || ex.DefaultDuration != h {
		t.Errorf("Explain(short-only) = %+v, %v", ex, err)
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
			u := policy.User{Name: "u" + string(rune('a'+i)), Groups: []string{"team-a", "staff", "proj-a"}}
			for range 200 {
				for _, g := range []string{"scratch", "teams", "staff", "blob", "short-only", "cond", "projects"} {
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
