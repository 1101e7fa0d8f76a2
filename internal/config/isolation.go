package config

import (
	"fmt"
	"slices"
	"strings"
)

// broad reports whether an allow list reaches users the admin did not
// name one by one: a glob in allow.users, or "*" in allow.groups. It
// returns the pattern that makes it so.
func broad(a Allow) (string, bool) {
	for _, u := range a.Users {
		if strings.ContainsAny(u, "*?") {
			return u, true
		}
	}
	for _, g := range a.Groups {
		if g == "*" {
			return g, true
		}
	}
	return "", false
}

// templated reports whether a storage grant's location depends on the
// caller: {user} or {group} in its prefix, or {user} in its container.
func templated(g *Grant) bool {
	return strings.Contains(g.Prefix, VarUser) || strings.Contains(g.Prefix, VarGroup) ||
		strings.Contains(g.Container, VarUser)
}

// located is a storage grant with its index in the file.
type located struct {
	i    int
	g    *Grant
	typ  string
	lead string // prefix up to the first variable
}

// isolation checks that per-user isolation cannot be undone by accident.
//
//  1. A storage grant that gives readwrite to a broad set of users must
//     put {user} or {group} in its location, or say shared: true: the
//     same "scratch" prefix for everyone lets any user overwrite or
//     delete any other user's data.
//  2. A storage grant whose static prefix covers the per-user prefixes
//     of another grant on the same bucket (prefix "" covers them all)
//     must not be given to a broad set of users, even read-only, unless
//     it says shared: true.
//  3. shared: true on a grant whose location is per user contradicts
//     itself.
//  4. Two storage grants in one store whose locations some user or
//     group name can make meet must say so with overlaps (see
//     [validator.overlaps]).
func (v *validator) isolation(c *Config) {
	var storage []located
	for i := range c.Grants {
		g := &c.Grants[i]
		p, ok := c.Providers[g.Provider]
		if !ok || (p.Type != TypeAWS && p.Type != TypeGCS && p.Type != TypeAzure) {
			continue
		}
		lead := g.Prefix
		if j := strings.IndexByte(lead, '{'); j >= 0 {
			lead = lead[:j]
		}
		storage = append(storage, located{i, g, p.Type, lead})
	}
	for _, o := range storage {
		path := fmt.Sprintf("grants[%d]", o.i)
		subj := fmt.Sprintf("%s %q", path, o.g.Name)
		if templated(o.g) {
			if o.g.Shared {
				v.errorf(path+".shared", "%s: shared: true contradicts the per-user location %q; remove shared", subj, location(o.g))
			}
			continue
		}
		pat, wide := broad(o.g.Allow)
		if !wide || o.g.Shared {
			continue
		}
		if o.g.Access == AccessReadWrite {
			v.errorf(path+".allow", "%s: gives readwrite on %q to every user matching %q, all in one place: any of them could overwrite or delete the others' data. Put {user} in the prefix (prefix: \"{user}/\") or {group} for team spaces, narrow allow, or set shared: true if one shared space is really meant",
				subj, location(o.g), pat)
			continue
		}
		for _, iso := range storage {
			if iso.g == o.g || !strings.Contains(iso.g.Prefix, "{") ||
				locationMeet(o.g, iso.g, c.Providers[o.g.Provider], c.Providers[iso.g.Provider]).kind != cover {
				continue
			}
			v.errorf(path+".prefix", "%s: prefix %q covers the per-user prefixes %q of grants[%d] %q and is given to every user matching %q: each could read the others' data. Narrow allow to named users or groups, or, if that is meant, set shared: true and overlaps: [%s]",
				subj, o.g.Prefix, iso.g.Prefix, iso.i, iso.g.Name, pat, iso.g.Name)
			break
		}
	}
	v.overlaps(c, storage)
}

// overlaps checks every pair of storage grants in one store (rule 4 of
// isolation): locations that some user or group name can make meet —
// a squat ({user}/ beside teams/{group}/: a user named "teams") or a
// cover ("" beside {user}/) — must be declared with overlaps on one of
// the two. A cover that rule 2 (or rule 1) already reports is left to
// it. Each overlaps entry must name another storage grant whose
// locations can meet this one's.
func (v *validator) overlaps(c *Config, storage []located) {
	byName := make(map[string]located, len(storage))
	valid := storage[:0:0]
	for _, o := range storage {
		byName[o.g.Name] = o
		// A malformed location is reported on its own; what it would
		// meet is not worth a second message.
		if checkPrefix(o.g.Prefix) == "" && (o.typ != TypeAzure || o.g.Container != "" && checkContainer(o.g.Container) == "") {
			valid = append(valid, o)
		}
	}
	storage = valid
	declared := func(a, b *Grant) bool {
		return slices.Contains(a.Overlaps, b.Name) || slices.Contains(b.Overlaps, a.Name)
	}
	for _, o := range storage {
		for j, name := range o.g.Overlaps {
			key := fmt.Sprintf("grants[%d].overlaps[%d]", o.i, j)
			other, ok := byName[name]
			switch {
			case name == o.g.Name:
				v.errorf(key, "grants[%d] %q: overlaps lists the grant itself", o.i, o.g.Name)
			case !ok:
				v.errorf(key, "grants[%d] %q: overlaps lists %q, which is not a storage grant of this config", o.i, o.g.Name, name)
			case locationMeet(o.g, other.g, c.Providers[o.g.Provider], c.Providers[other.g.Provider]).kind == never:
				v.errorf(key, "grants[%d] %q: overlaps lists grants[%d] %q, but their locations %s and %s never meet; remove it",
					o.i, o.g.Name, other.i, name, where(c, o.g), where(c, other.g))
			}
		}
	}
	for x, a := range storage {
		for _, b := range storage[x+1:] {
			m := locationMeet(a.g, b.g, c.Providers[a.g.Provider], c.Providers[b.g.Provider])
			if !m.flagged() || declared(a.g, b.g) || coveredByRule2(a, b, m) || coveredByRule2(b, a, m) {
				continue
			}
			what := "prefixes " + strconvQuote(a.g.Prefix) + " and " + strconvQuote(b.g.Prefix)
			if c.Providers[a.g.Provider].Type == TypeAzure && (a.g.Container != b.g.Container || strings.Contains(a.g.Container, VarUser)) {
				what = "containers " + strconvQuote(a.g.Container) + " and " + strconvQuote(b.g.Container)
				if a.g.Prefix != "" || b.g.Prefix != "" {
					what += " (prefixes " + strconvQuote(a.g.Prefix) + " and " + strconvQuote(b.g.Prefix) + ")"
				}
			}
			v.errorf(fmt.Sprintf("grants[%d]", b.i), "grants[%d] %q (line %d) and grants[%d] %q (line %d) can reach the same data: their %s meet %s, so one's holders read or change what the other gives. Give each its own first path segment (e.g. \"users/{user}/\" beside \"teams/{group}/\") or its own bucket or container, or, if the overlap is meant, add overlaps: [%s] to grants[%d] %q (credserver explain shows it)",
				a.i, a.g.Name, v.lines.line(fmt.Sprintf("grants[%d]", a.i)), b.i, b.g.Name, v.lines.line(fmt.Sprintf("grants[%d]", b.i)),
				what, m.why, a.g.Name, b.i, b.g.Name)
		}
	}
}

// coveredByRule2 reports whether rules 1 or 2 already refuse o for
// covering iso: o is static and given to a broad set of users.
func coveredByRule2(o, iso located, m meet) bool {
	_, wide := broad(o.g.Allow)
	return m.kind == cover && wide && !o.g.Shared && !templated(o.g) && templated(iso.g)
}

// where names a storage grant's place for messages, with its store.
func where(c *Config, g *Grant) string {
	return fmt.Sprintf("%s (provider %s)", strconvQuote(location(g)), g.Provider)
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// location names a storage grant's place for messages: bucket/prefix or
// container/prefix.
func location(g *Grant) string {
	b := g.Bucket
	if b == "" {
		b = g.Container
	}
	return b + "/" + g.Prefix
}
