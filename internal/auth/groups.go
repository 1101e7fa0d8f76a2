package auth

import (
	"encoding/binary"
	"unique"
)

// groupList is a hub group list as the identity cache keeps it: one
// interned string holding every name, length-prefixed. The members of a
// class share one list (["students", "course-101"]), so 100,000 cached
// identities hold a few such strings, not 100,000 slices of their own
// copies. The zero groupList is a nil list.
//
// Interning is by the unique package: the table is process-wide and keeps
// a list only while some cached entry holds its handle, so it is bounded by
// the cache itself and needs no size of its own.
type groupList struct {
	h unique.Handle[string]
	// set tells an empty list (the hub sent "groups": []) from none.
	set bool
}

// internGroups returns the interned form of names.
func internGroups(names []string) groupList {
	if names == nil {
		return groupList{}
	}
	n := 0
	for _, s := range names {
		n += binary.MaxVarintLen64 + len(s)
	}
	b := make([]byte, 0, n)
	for _, s := range names {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return groupList{h: unique.Make(string(b)), set: true}
}

// strings returns the names in a new slice, the caller's own; its strings
// share the interned bytes, which are immutable.
func (g groupList) strings() []string {
	if !g.set {
		return nil
	}
	enc := g.h.Value()
	n := 0
	for rest := enc; rest != ""; n++ {
		rest = skipName(rest)
	}
	out := make([]string, 0, n)
	for rest := enc; rest != ""; {
		l, k := binary.Uvarint([]byte(rest[:min(len(rest), binary.MaxVarintLen64)]))
		end := k + int(l)
		out = append(out, rest[k:end])
		rest = rest[end:]
	}
	return out
}

// skipName returns what follows the first length-prefixed name in enc.
func skipName(enc string) string {
	l, k := binary.Uvarint([]byte(enc[:min(len(enc), binary.MaxVarintLen64)]))
	return enc[k+int(l):]
}
