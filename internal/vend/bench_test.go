package vend

import (
	"testing"
	"time"
)

// BenchmarkCacheHit is a warm credential lookup: key building plus the LRU.
func BenchmarkCacheHit(b *testing.B) {
	clock := newFakeClock()
	c := newTestCache(clock, 0)
	p := &countingProvider{clock: clock}
	req := Request{User: "alice", Grant: "scratch", Access: "readwrite", Duration: time.Hour,
		Bucket: "hub-scratch", Prefixes: []string{"alice/"}, Location: "s3://hub-scratch/alice/"}
	if _, _, err := c.Issue(b.Context(), p, Key(req), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, hit, _ := c.Issue(b.Context(), p, Key(req), req); !hit {
			b.Fatal("miss")
		}
	}
}
