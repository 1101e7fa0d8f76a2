package app

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credserver/credserver/internal/config"
	"github.com/credserver/credserver/internal/server"
)

func TestLimitsFromConfig(t *testing.T) {
	got := limitsFrom(config.Limits{UserRate: 5, UserBurst: 50, AuthFailureRate: -1, AuthFailureBurst: 3})
	want := &server.Limits{UserRate: 5, UserBurst: 50, AuthFailureRate: 0, AuthFailureBurst: 3,
		FailedLookupRate: server.DefaultLimits.FailedLookupRate, FailedLookupBurst: server.DefaultLimits.FailedLookupBurst}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
}
