package auth

import "encoding/binary"

// attrs is what a cached identity holds besides its name: the same for
// every member of a class (["students", "course-101"], not an admin, the
// required scopes checked), so the identity cache interns it and 100,000
// cached identities share a few, instead of each holding a slice of its
// own copies of the group names.
//
// Interning is by the unique package: the table is process-wide and keeps
// a value only while some cached entry holds its handle, so it is bounded
// by the cache itself and needs no size of its own.
type attrs struct {
	// groups is the group list encoded by encodeGroups.
	groups string
	admin  bool
	// scoped records that the Hub's require_scopes were checked: the
	// identity's Scopes are then all of them (see [Identity.Scopes]).
	scoped bool
}

// encodeGroups encodes names as one string: "" for nil, otherwise the
// number of names and then each name, length-prefixed (uvarints), so that
// an empty list stays apart from none and a name may hold any byte.
func encodeGroups(names []string) string {
	if names == nil {
		return ""
	}
	n := binary.MaxVarintLen64
	for _, s := range names {
		n += binary.MaxVarintLen64 + len(s)
	}
	b := binary.AppendUvarint(make([]byte, 0, n), uint64(len(names)))
	for _, s := range names {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return string(b)
}

// decodeGroups returns the names enc encodes in a new slice, the caller's
// own; its strings share enc's bytes, which are immutable.
func decodeGroups(enc string) []string {
	if enc == "" {
		return nil
	}
	n, rest := uvarint(enc)
	out := make([]string, n)
	for i := range out {
		var l uint64
		l, rest = uvarint(rest)
		out[i], rest = rest[:l], rest[l:]
	}
	return out
}

// uvarint reads the uvarint that starts s (written by encodeGroups, so
// well formed) and returns it and what follows.
func uvarint(s string) (uint64, string) {
	var buf [binary.MaxVarintLen64]byte
	v, k := binary.Uvarint(buf[:copy(buf[:], s)])
	return v, s[k:]
}
