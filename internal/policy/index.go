package policy

import "slices"

// index finds the grants that can admit a user without scanning them
// all. Most allow lists name users and groups exactly or by a prefix
// pattern ("proj-*"); both are looked up by name. Only grants with other
// patterns ("*", "*-staff", "b?b") are tried for every user.
type index struct {
	byUser, byGroup         map[string][]int32 // exact name -> grants naming it
	byUserPfx, byGroupPfx   map[string][]int32 // literal of a "lit*" pattern -> grants
	maxUserPfx, maxGroupPfx int                // longest such literal
	wild                    []int32            // grants with any other pattern
}

func newIndex(grants []*grant) index {
	idx := index{
		byUser: map[string][]int32{}, byGroup: map[string][]int32{},
		byUserPfx: map[string][]int32{}, byGroupPfx: map[string][]int32{},
	}
	for i, g := range grants {
		n := int32(i)
		if !indexable(&g.users) || !indexable(&g.groups) {
			idx.wild = append(idx.wild, n)
			continue
		}
		add := func(m map[string][]int32, key string) { m[key] = append(m[key], n) }
		for _, name := range g.users.names() {
			add(idx.byUser, name)
		}
		for _, name := range g.groups.names() {
			add(idx.byGroup, name)
		}
		for _, gl := range g.users.globs {
			add(idx.byUserPfx, gl.lit)
			idx.maxUserPfx = max(idx.maxUserPfx, len(gl.lit))
		}
		for _, gl := range g.groups.globs {
			add(idx.byGroupPfx, gl.lit)
			idx.maxGroupPfx = max(idx.maxGroupPfx, len(gl.lit))
		}
	}
	return idx
}

// indexable reports whether every pattern of m is an exact name or a
// prefix pattern.
func indexable(m *matcher) bool {
	if m.any {
		return false
	}
	for _, g := range m.globs {
		if g.kind != globPrefix {
			return false
		}
	}
	return true
}

// candidates returns the indexes, in config order and each once, of the
// grants that may admit u. A grant not among them admits u by no rule.
func (idx *index) candidates(u User) []int32 {
	out := slices.Clone(idx.byUser[u.Name])
	out = prefixes(out, idx.byUserPfx, idx.maxUserPfx, u.Name)
	for _, grp := range u.Groups {
		out = append(out, idx.byGroup[grp]...)
		out = prefixes(out, idx.byGroupPfx, idx.maxGroupPfx, grp)
	}
	out = append(out, idx.wild...)
	slices.Sort(out)
	return slices.Compact(out)
}

// prefixes appends the grants indexed under every prefix of name.
func prefixes(out []int32, m map[string][]int32, longest int, name string) []int32 {
	if len(m) == 0 {
		return out
	}
	for k := range min(longest, len(name)) + 1 {
		out = append(out, m[name[:k]]...)
	}
	return out
}
