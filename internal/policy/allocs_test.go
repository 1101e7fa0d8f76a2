//go:build !race

package policy_test

import (
	"testing"

	"github.com/credserver/credserver/internal/policy"
)

// TestDecisionAllocations guards the hot path: the decision allocates
// nothing, nor does Decide for a fixed location; a {user} location costs
// two allocations. (The race detector changes allocation counts, hence
// the build tag.)
func TestDecisionAllocations(t *testing.T) {
	p := compile(t, testConfig)
	u := policy.User{Name: "alice", Groups: []string{"x", "team-a", "staff", "g7"}}
	tests := []struct {
		name  string
		run   func()
		limit float64
	}{
		{"Check allowed by group", func() { p.Check(u, policy.Request{Grant: "staff"}) }, 0},
		{"Check allowed by large set", func() { p.Check(u, policy.Request{Grant: "many"}) }, 0},
		{"Check refused", func() { p.Check(u, policy.Request{Grant: "gh-course"}) }, 0},
		{"Check unknown", func() { p.Check(u, policy.Request{Grant: "nope"}) }, 0},
		{"Check bounds", func() { p.Check(u, policy.Request{Grant: "staff", Access: policy.AccessReadWrite}) }, 0},
		{"Decide fixed", func() { _, _ = p.Decide(u, policy.Request{Grant: "alice-only"}) }, 0},
		{"Decide github", func() { _, _ = p.Decide(u, policy.Request{Grant: "gh-user"}) }, 0},
		{"Decide {user}", func() { _, _ = p.Decide(u, policy.Request{Grant: "scratch"}) }, 2},
		{"Decide container {user}", func() { _, _ = p.Decide(u, policy.Request{Grant: "blob"}) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tt.run); got > tt.limit {
				t.Errorf("%v allocations, want at most %v", got, tt.limit)
			}
		})
	}
}
