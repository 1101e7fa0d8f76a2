package auth

import (
	"testing"
)

// BenchmarkAuthenticateHit measures the cache-hit path every API request
// takes while a token is cached: hash, LRU lookup, copy of the slices.
func BenchmarkAuthenticateHit(b *testing.B) {
	h := warmHub(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Authenticate(ctx, aliceToken); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := h.Stats().UpstreamCalls; n != 1 {
		b.Fatalf("UpstreamCalls = %d, want 1: the loop did not hit the cache", n)
	}
}

// BenchmarkAuthenticateHitParallel is the same under contention on the
// LRU's lock.
func BenchmarkAuthenticateHitParallel(b *testing.B) {
	h := warmHub(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Authenticate(ctx, aliceToken); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// warmHub returns a Hub that has looked up aliceToken once, through a fake
// hub, so that later calls hit the cache.
func warmHub(b *testing.B) *Hub {
	b.Helper()
	f := newFakeHub(b)
	f.addUser(aliceToken, alice)
	h := newTestHub(b, f, HubConfig{})
	if _, err := h.Authenticate(b.Context(), aliceToken); err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkAuthenticateCachedHit is the hit path as the server takes it
// with failed-login limiting on (AuthenticateCached). Compare with
// BenchmarkAuthenticateHit from the same run.
func BenchmarkAuthenticateCachedHit(b *testing.B) {
	h := warmHub(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := h.AuthenticateCached(aliceToken); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
