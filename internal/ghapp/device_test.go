package ghapp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/ghapp"
	"github.com/credserver/credserver/internal/testenv/fakegithub"
	"github.com/credserver/credserver/internal/vend"
)

func TestDeviceFlow(t *testing.T) {
	tests := []struct {
		name string
		// act runs between StartLogin and the polls: what the user (or
		// GitHub) does.
		act        func(e *env, l ghapp.Login)
		wantStatus string
		wantLogin  string
		wantLinked bool
	}{
		{"approved", func(e *env, l ghapp.Login) { e.fake.Approve(l.UserCode, "octocat") }, "complete", "octocat", true},
		{"denied", func(e *env, l ghapp.Login) { e.fake.Deny(l.UserCode) }, "denied", "", false},
		{"never approved", func(e *env, l ghapp.Login) { e.clock.Advance(16 * time.Minute) }, "expired", "", false},
		{"pending", func(*env, ghapp.Login) {}, "pending", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			l, err := e.links.StartLogin(ctx, "github", "alice")
			if err != nil {
				t.Fatal(err)
			}
			if l.UserCode == "" || l.VerificationURI != e.fake.URL()+"/login/device" || l.Interval != 5*time.Second ||
				!l.ExpiresAt.Equal(t0.Add(15*time.Minute)) || len(l.ID) < 20 {
				t.Fatalf("StartLogin = %+v", l)
			}
			// Polling before the interval is up asks GitHub nothing.
			st, err := e.links.PollLogin(ctx, "alice", l.ID)
			if err != nil || st.Status != "pending" {
				t.Fatalf("early poll = %+v, %v", st, err)
			}
			if n := e.fake.Count(fakegithub.EndpointDevicePoll); n != 0 {
				t.Errorf("early poll reached GitHub %d times", n)
			}
			tt.act(e, l)
			e.clock.Advance(l.Interval)
			st, err = e.links.PollLogin(ctx, "alice", l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != tt.wantStatus || st.Login != tt.wantLogin {
				t.Errorf("status = %+v, want %s %q", st, tt.wantStatus, tt.wantLogin)
			}
			// An ended login stays ended; a pending one is not asked again
			// within the interval.
			polls := e.fake.Count(fakegithub.EndpointDevicePoll)
			again, err := e.links.PollLogin(ctx, "alice", l.ID)
			if err != nil || again.Status != st.Status {
				t.Errorf("second poll = %+v, %v; want %s", again, err, st.Status)
			}
			if n := e.fake.Count(fakegithub.EndpointDevicePoll); n != polls {
				t.Errorf("second poll asked GitHub again (%d → %d)", polls, n)
			}
			info, err := e.links.Link(ctx, "github", "alice")
			if err != nil {
				t.Fatal(err)
			}
			if info.Linked != tt.wantLinked || info.Login != tt.wantLogin {
				t.Errorf("Link = %+v, want linked %v as %q", info, tt.wantLinked, tt.wantLogin)
			}
			_, err = e.issue(userRequest("alice"))
			if tt.wantLinked != (err == nil) || (err != nil && !errors.Is(err, ghapp.ErrNotLinked)) {
				t.Errorf("Issue: err = %v, want linked=%v", err, tt.wantLinked)
			}
			e.checkNoSecrets("logs", e.logs.String())
		})
	}
}

func TestDeviceFlowSlowDown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l, err := e.links.StartLogin(ctx, "github", "alice")
	if err != nil {
		t.Fatal(err)
	}
	// GitHub now wants 12 s between polls; we poll after our 5 s.
	e.fake.SetInterval(12 * time.Second)
	e.clock.Advance(5 * time.Second)
	if _, err := e.links.PollLogin(ctx, "alice", l.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Second)
	st, err := e.links.PollLogin(ctx, "alice", l.ID)
	if err != nil {
		t.Fatal(err)
	}
	// slow_down named 17 s (12 + 5): that, not 5 + 5, is the new pace.
	if st.Status != "pending" || st.Interval != 17*time.Second {
		t.Fatalf("after slow_down: %+v, want pending every 17s", st)
	}
	e.fake.Approve(l.UserCode, "octocat")
	e.clock.Advance(10 * time.Second)
	if st, _ := e.links.PollLogin(ctx, "alice", l.ID); st.Status != "pending" {
		t.Errorf("poll before the widened interval: %+v", st)
	}
	polls := e.fake.Count(fakegithub.EndpointDevicePoll)
	e.clock.Advance(7 * time.Second)
	st, err = e.links.PollLogin(ctx, "alice", l.ID)
	if err != nil || st.Status != "complete" {
		t.Fatalf("poll after the widened interval: %+v, %v", st, err)
	}
	if n := e.fake.Count(fakegithub.EndpointDevicePoll); n != polls+1 {
		t.Errorf("GitHub polls %d → %d, want one more", polls, n)
	}
}

func TestDeviceFlowDisabled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.SetDeviceFlowDisabled(true)
	_, err := e.links.StartLogin(ctx, "github", "alice")
	var ue *vend.UpstreamError
	if !errors.As(err, &ue) || ue.Code != "device_flow_disabled" {
		t.Fatalf("StartLogin with the device flow off: %v, want an upstream device_flow_disabled", err)
	}

	// Turned off while a login is pending: that poll fails, later ones
	// say "failed".
	e.fake.SetDeviceFlowDisabled(false)
	l, err := e.links.StartLogin(ctx, "github", "alice")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.SetDeviceFlowDisabled(true)
	e.clock.Advance(l.Interval)
	if _, err := e.links.PollLogin(ctx, "alice", l.ID); !errors.As(err, &ue) || ue.Code != "device_flow_disabled" {
		t.Fatalf("poll: %v, want device_flow_disabled", err)
	}
	polls := e.fake.Count(fakegithub.EndpointDevicePoll)
	e.clock.Advance(time.Minute)
	if _, err := e.links.PollLogin(ctx, "alice", l.ID); !errors.As(err, &ue) || ue.Code != "login_failed" {
		t.Errorf("later poll: %v, want login_failed", err)
	}
	if n := e.fake.Count(fakegithub.EndpointDevicePoll); n != polls {
		t.Errorf("a failed login polled GitHub again")
	}
}

func TestPollLoginOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l, err := e.links.StartLogin(ctx, "github", "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, id string }{{"bob", l.ID}, {"alice", "no-such-login"}} {
		if _, err := e.links.PollLogin(ctx, tc.user, tc.id); !errors.Is(err, ghapp.ErrLoginNotFound) {
			t.Errorf("PollLogin(%s, %s): %v, want ErrLoginNotFound", tc.user, tc.id, err)
		}
	}
}

// TestNonExpiringTokens: an App with token expiration turned off gives
// tokens without expiry and no refresh token; they are served as they are.
func TestNonExpiringTokens(t *testing.T) {
	e := newEnv(t)
	e.fake.SetNonExpiringTokens(true)
	e.link("alice", "octocat")
	b, err := e.issue(userRequest("alice"))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(400 * 24 * time.Hour)
	b2, err := e.issue(userRequest("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if b2.Token != b.Token || e.fake.Count(fakegithub.EndpointRefresh) != 0 {
		t.Errorf("non-expiring token changed or was refreshed")
	}
	if _, err := e.fake.Check(b2.Token); err != nil {
		t.Errorf("token after a year: %v", err)
	}
	if want := e.clock.Now().Add(8 * time.Hour).Format(time.RFC3339); b2.ExpiresAt != want {
		t.Errorf("expires_at = %s, want the nominal %s", b2.ExpiresAt, want)
	}
	info, _ := e.links.Link(context.Background(), "github", "alice")
	if !info.Linked || !info.ExpiresAt.IsZero() {
		t.Errorf("Link = %+v, want linked without expiry", info)
	}
}
