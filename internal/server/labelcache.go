package server

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// labels is a metric's label values; unused trailing ones are "".
type labels [3]string

// children remembers the children of a metric vector by their label
// values, so the request path finds its counter or histogram with one
// lock-free map lookup instead of hashing its labels through the vector
// (and taking the vector's lock) on every request. The label sets are
// bounded (routes, codes, grants from the config), so the map is copied
// on the rare miss rather than guarded on every hit.
type children[K comparable, M any] struct {
	newChild func(K) M
	m        atomic.Pointer[map[K]M]
	mu       sync.Mutex // serialises misses
}

func newChildren[K comparable, M any](newChild func(K) M) *children[K, M] {
	c := &children[K, M]{newChild: newChild}
	c.m.Store(&map[K]M{})
	return c
}

func (c *children[K, M]) with(k K) M {
	if m, ok := (*c.m.Load())[k]; ok {
		return m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if m, ok := old[k]; ok {
		return m
	}
	m := c.newChild(k)
	next := maps.Clone(old)
	next[k] = m
	c.m.Store(&next)
	return m
}

// counters are the children of a CounterVec with n labels.
type counters = children[labels, prometheus.Counter]

func newCounters(vec *prometheus.CounterVec, n int) *counters {
	return newChildren(func(l labels) prometheus.Counter { return vec.WithLabelValues(l[:n]...) })
}

// observers are the children of a HistogramVec with one label.
type observers = children[string, prometheus.Observer]

func newObservers(vec *prometheus.HistogramVec) *observers {
	return newChildren(func(label string) prometheus.Observer { return vec.WithLabelValues(label) })
}
