package policy

import (
	"hash/maphash"
	"sync/atomic"
)

// locatedSlots is how many users' locations a grant remembers at most.
const locatedSlots = 1024

// located is a grant's location for one user (see grant.locate). It is
// immutable once made: decisions share it.
type located struct {
	name     string
	loc      string
	bucket   string   // a substring of loc
	prefixes []string // the grant's fixed Prefixes, or prefix[:]
	prefix   [1]string
}

// locatedMemo remembers the location of the users who asked for a grant
// whose location depends on the user name alone ({user}, no {group}), so
// that a user asking again (most requests: clients ask for the same
// credential over and over) gets it without an allocation. It is
// direct-mapped by a hash of the name: a user whose slot another user took
// has the location built again, which puts it back. So it holds at most
// locatedSlots locations (about 130 KB) whatever the number of users, and
// costs what building the location does when they are too many. Safe for
// concurrent use; a policy reload compiles new grants and starts afresh.
type locatedMemo struct {
	seed  maphash.Seed
	slots [locatedSlots]atomic.Pointer[located]
}

func newLocatedMemo() *locatedMemo { return &locatedMemo{seed: maphash.MakeSeed()} }

// location returns name's location for g, remembered or built.
func (m *locatedMemo) location(g *grant, name string) *located {
	slot := &m.slots[maphash.String(m.seed, name)%locatedSlots]
	if l := slot.Load(); l != nil && l.name == name {
		return l
	}
	l := g.locate(name)
	slot.Store(l)
	return l
}
