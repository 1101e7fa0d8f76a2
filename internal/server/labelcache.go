package server

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// labels is a metric's label values; unused trailing ones are "".
type labels [3]string

// counters remembers the child counters of a CounterVec by their label
// values, so the request path finds its counter with one map lookup
// instead of hashing its labels through the vector on every request. The
// label sets are bounded (routes, codes, grants from the config), and so
// is the map.
type counters struct {
	vec *prometheus.CounterVec
	n   int // how many labels the vector has
	mu  sync.RWMutex
	m   map[labels]prometheus.Counter
}

func newCounters(vec *prometheus.CounterVec, n int) *counters {
	return &counters{vec: vec, n: n, m: map[labels]prometheus.Counter{}}
}

func (c *counters) with(l labels) prometheus.Counter {
	c.mu.RLock()
	ctr, ok := c.m[l]
	c.mu.RUnlock()
	if ok {
		return ctr
	}
	ctr = c.vec.WithLabelValues(l[:c.n]...)
	c.mu.Lock()
	c.m[l] = ctr
	c.mu.Unlock()
	return ctr
}

// observers does the same for a HistogramVec with one label.
type observers struct {
	vec *prometheus.HistogramVec
	mu  sync.RWMutex
	m   map[string]prometheus.Observer
}

func newObservers(vec *prometheus.HistogramVec) *observers {
	return &observers{vec: vec, m: map[string]prometheus.Observer{}}
}

func (o *observers) with(label string) prometheus.Observer {
	o.mu.RLock()
	obs, ok := o.m[label]
	o.mu.RUnlock()
	if ok {
		return obs
	}
	obs = o.vec.WithLabelValues(label)
	o.mu.Lock()
	o.m[label] = obs
	o.mu.Unlock()
	return obs
}
