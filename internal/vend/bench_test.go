package vend

import (
	"github.com/credserver/credserver/internal/policy"
	"testing"
	"time"
)

// BenchmarkCacheHit is a warm credential lookup: key building plus the LRU.
func BenchmarkCacheHit(b *testing.B) {
	clock := newFakeClock()
	c := newTestCache(clock, 0)
	p := &countingProvider{clock: clock}
	req := policy.Decision{User: "alice", Grant: "scratch", Access: policy.AccessReadWrite, Duration: time.Hour,
		Bucket: "hub-scratch", Prefixes: []string{"alice/"}, Location: "s3://hub-scratch/alice/"}
	if _, _, err := c.Issue(b.Context(), p, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, hit, _ := c.Issue(b.Context(), p, req); !hit {
			b.Fatal("miss")
		}
	}
}
