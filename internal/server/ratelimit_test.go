package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/testenv/fakegithub"
)

// TestUserLimiterForgetsOnlyFullBuckets: the per-user limiter lets go of a
// user's bucket once it is full again, and only then. A user who spent
// their burst stays limited however many other users arrive meanwhile
// (sweeps run among them), and once everyone's bucket has refilled the
// table shrinks back to the users still spending.
func TestUserLimiterForgetsOnlyFullBuckets(t *testing.T) {
	clk := fakegithub.NewClock(time.Unix(1_700_000_000, 0))
	k := newKeyedLimiter(1, 3)
	for i := range 3 {
		if ok, _ := k.allow("greedy", clk.Now); !ok {
			t.Fatalf("greedy request %d refused within the burst", i)
		}
	}
	if ok, _ := k.allow("greedy", clk.Now); ok {
		t.Fatal("greedy's 4th request allowed beyond a burst of 3")
	}
	for i := range 5000 {
		if ok, _ := k.allow(fmt.Sprintf("u%d", i), clk.Now); !ok {
			t.Fatalf("u%d's first request refused", i)
		}
	}
	if ok, wait := k.allow("greedy", clk.Now); ok || wait != time.Second {
		t.Fatalf("greedy after 5,000 other users (sweeps ran): allowed=%v wait=%v, want refused with 1s: its spent bucket was forgotten", ok, wait)
	}
	if n := k.size(); n != 5001 {
		t.Fatalf("buckets held = %d, want 5001 (none is full yet)", n)
	}

	clk.Advance(10 * time.Second) // every bucket full again
	for i := range 5000 {
		k.allow(fmt.Sprintf("v%d", i), clk.Now)
	}
	// The sweep at 8,192 buckets dropped greedy and the u's (full again)
	// and kept the v's (each just spent a token).
	if n := k.size(); n != 5000 {
		t.Errorf("buckets held after everyone refilled and 5,000 new users = %d, want the 5,000 new ones", n)
	}
	clk.Advance(10 * time.Second)
	for i := range 2000 {
		k.allow(fmt.Sprintf("w%d", i), clk.Now)
	}
	if n := k.size(); n > 2000 {
		t.Errorf("buckets held = %d, want at most the 2,000 users still spending", n)
	}
	// A user whose bucket was swept out starts with a full one, as before.
	for i := range 3 {
		if ok, _ := k.allow("greedy", clk.Now); !ok {
			t.Fatalf("greedy request %d after refilling refused", i)
		}
	}
}

// TestUserLimiterBounded: however many users spend at once, the table
// never holds more than maxLimiterKeys buckets.
func TestUserLimiterBounded(t *testing.T) {
	clk := fakegithub.NewClock(time.Unix(1_700_000_000, 0))
	k := newKeyedLimiter(1, 3)
	for i := range maxLimiterKeys + maxLimiterKeys/2 {
		k.allow(fmt.Sprintf("u%d", i), clk.Now)
		if i%10_000 == 0 {
			if n := k.size(); n > maxLimiterKeys {
				t.Fatalf("after %d users: %d buckets, want at most %d", i+1, n, maxLimiterKeys)
			}
		}
	}
	if n := k.size(); n > maxLimiterKeys {
		t.Fatalf("%d buckets, want at most %d", n, maxLimiterKeys)
	}
}
