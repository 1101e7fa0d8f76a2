package policy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/policy"
)

// TestCheck covers every matching rule and every reason, through the
// structured verdict: which rule decided, with what.
func TestCheck(t *testing.T) {
	p := compile(t, testConfig)
	users := func(pat, val string) policy.Match {
		return policy.Match{Rule: policy.RuleUsers, Pattern: pat, Value: val}
	}
	groups := func(pat, val string) policy.Match {
		return policy.Match{Rule: policy.RuleGroups, Pattern: pat, Value: val}
	}
	tests := []struct {
		name   string
		user   policy.User
		req    policy.Request
		reason policy.Reason
		match  policy.Match
		rule   string
	}{
		{"users exact", policy.User{Name: "alice"}, policy.Request{Grant: "alice-only"}, policy.ReasonAllowed,
			users("alice", "alice"), `allow.users "alice" matched user "alice"`},
		{"users star", policy.User{Name: "zed"}, policy.Request{Grant: "scratch"}, policy.ReasonAllowed, users("*", "zed"), ""},
		{"users prefix glob", policy.User{Name: "anna"}, policy.Request{Grant: "a-star"}, policy.ReasonAllowed, users("a*", "anna"), ""},
		{"users ? glob", policy.User{Name: "bob"}, policy.Request{Grant: "a-star"}, policy.ReasonAllowed, users("b?b", "bob"), ""},
		{"users suffix glob", policy.User{Name: "x-admin"}, policy.Request{Grant: "suffix"}, policy.ReasonAllowed, users("*-admin", "x-admin"), ""},
		{"users large set", policy.User{Name: "u9"}, policy.Request{Grant: "many"}, policy.ReasonAllowed, users("u9", "u9"), ""},
		{"users before groups", policy.User{Name: "u1", Groups: []string{"g1"}}, policy.Request{Grant: "many"}, policy.ReasonAllowed, users("u1", "u1"), ""},
		{"groups exact", policy.User{Name: "dan", Groups: []string{"x", "staff"}}, policy.Request{Grant: "staff"}, policy.ReasonAllowed,
			groups("staff", "staff"), `allow.groups "staff" matched group "staff"`},
		{"groups first matching group", policy.User{Name: "e", Groups: []string{"team-b", "team-a"}}, policy.Request{Grant: "teams"}, policy.ReasonAllowed,
			groups("team-*", "team-b"), ""},
		{"groups suffix glob", policy.User{Name: "e", Groups: []string{"geo-staff"}}, policy.Request{Grant: "suffix"}, policy.ReasonAllowed, groups("*-staff", "geo-staff"), ""},
		{"groups large set", policy.User{Name: "e", Groups: []string{"g10"}}, policy.Request{Grant: "many"}, policy.ReasonAllowed, groups("g10", "g10"), ""},
		{"no rule", policy.User{Name: "e", Groups: []string{"Staff"}}, policy.Request{Grant: "staff"}, policy.ReasonNoRule, policy.Match{}, "no allow rule matched"},
		{"no rule, admin", policy.User{Name: "root", Admin: true}, policy.Request{Grant: "staff"}, policy.ReasonNoRule, policy.Match{}, ""},
		{"no group for {group}", policy.User{Name: "carol"}, policy.Request{Grant: "teams"}, policy.ReasonNoGroup, users("carol", "carol"), ""},
		{"condition true", policy.User{Name: "root", Admin: true}, policy.Request{Grant: "admins"}, policy.ReasonAllowed,
			users("*", "root"), `allow.users "*" matched user "root"; when: condition true`},
		{"condition false", policy.User{Name: "root"}, policy.Request{Grant: "admins"}, policy.ReasonConditionFalse, users("*", "root"), "when: condition false"},
		{"condition error", policy.User{Name: "root"}, policy.Request{Grant: "broken-when"}, policy.ReasonConditionError, users("*", "root"), ""},
		{"access above", policy.User{Name: "anna"}, policy.Request{Grant: "a-star", Access: policy.AccessReadWrite}, policy.ReasonAccess,
			users("a*", "anna"), "access readwrite exceeds this grant's maximum of read"},
		{"access invalid", policy.User{Name: "anna"}, policy.Request{Grant: "a-star", Access: 7}, policy.ReasonAccess, users("a*", "anna"), ""},
		{"duration above", policy.User{Name: "anna"}, policy.Request{Grant: "short", Duration: time.Hour}, policy.ReasonDuration, users("*", "anna"), ""},
		{"unknown grant", policy.User{Name: "anna"}, policy.Request{Grant: "nope"}, policy.ReasonUnknownGrant, policy.Match{}, `no grant named "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := p.Check(tt.user, tt.req)
			if v.Reason != tt.reason || v.Allowed() != (tt.reason == policy.ReasonAllowed) {
				t.Errorf("Reason = %d (allowed %v), want %d; rule %q", v.Reason, v.Allowed(), tt.reason, v.Rule())
			}
			if diff := cmp.Diff(tt.match, v.Match); diff != "" {
				t.Errorf("Match mismatch (-want +got):\n%s", diff)
			}
			if tt.rule != "" && v.Rule() != tt.rule {
				t.Errorf("Rule() = %q, want %q", v.Rule(), tt.rule)
			}
			// Decide agrees with Check.
			_, err := p.Decide(tt.user, tt.req)
			if verr := v.Err(); (err == nil) != (verr == nil) || err != nil && err.Error() != verr.Error() {
				t.Errorf("Decide() error = %v, Check().Err() = %v", err, verr)
			}
		})
	}
}

// TestZeroVerdict: a zero Verdict denies.
func TestZeroVerdict(t *testing.T) {
	var v policy.Verdict
	if v.Allowed() || !errors.Is(v.Err(), policy.ErrUnknownGrant) {
		t.Errorf("zero Verdict: allowed %v, err %v", v.Allowed(), v.Err())
	}
	v.Reason = policy.ReasonAllowed
	if v.Allowed() || v.Err() == nil {
		t.Errorf("Verdict{Reason: ReasonAllowed} without a grant: allowed %v, err %v", v.Allowed(), v.Err())
	}
}
