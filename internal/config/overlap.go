package config

import (
	"fmt"
	"net/url"
	"strings"
)

// meetKind says how two storage grants' locations can meet: be equal, or
// one a prefix of the other, in one bucket or container.
type meetKind uint8

const (
	// never: no user or group name makes them meet.
	never meetKind = iota
	// static: both locations are fixed strings that meet; the file shows
	// it as it is, whatever names users have.
	static
	// same: they meet only for one and the same user (or group): a
	// user's own "{user}/" in two grants, or a group's "teams/{group}/"
	// beside its "teams/{group}/shared/".
	same
	// squat: a user or group with a chosen name reaches another's place
	// (a user named "teams" beside "teams/{group}/").
	squat
	// cover: one location holds the per-user or per-group locations of
	// the other for every name ("" beside "{user}/").
	cover
)

// meet is how two grants' locations can meet, with the reason for
// messages.
type meet struct {
	kind meetKind
	why  string
}

// flagged reports whether the meeting must be declared with overlaps.
func (m meet) flagged() bool { return m.kind == squat || m.kind == cover }

// storeKeys names the stores a storage provider reaches, for telling
// whether two providers' buckets (containers) can be the same one. Two
// providers reach the same store when they share a key. S3 bucket names
// are global on AWS, GCS bucket names are global, an Azure account is
// its name or its endpoint; an S3-compatible store is its endpoint, STS
// or S3.
func storeKeys(p Provider) []string {
	switch p.Type {
	case TypeGCS:
		return []string{"gcs"}
	case TypeAzure:
		return []string{"azure account " + strings.ToLower(p.AccountName), "azure " + endpointKey(p.BlobEndpoint)}
	case TypeAWS:
		var keys []string
		for _, e := range []string{p.STSEndpoint, p.S3Endpoint} {
			if e != "" {
				keys = append(keys, "s3 "+endpointKey(e))
			}
		}
		if len(keys) == 0 {
			keys = []string{"s3 amazonaws.com"}
		}
		return keys
	}
	return nil
}

// endpointKey is an endpoint URL reduced to what names its server: host
// and port (lowercase, the scheme's default port filled in) and path.
func endpointKey(e string) string {
	u, err := url.Parse(strings.TrimRight(e, "/"))
	if err != nil || u.Host == "" {
		return strings.ToLower(strings.TrimRight(e, "/"))
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "amazonaws.com" || strings.HasSuffix(host, ".amazonaws.com") {
		return "amazonaws.com"
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return host + ":" + port + u.Path
}

// sameStore reports whether two storage providers can reach one store.
func sameStore(p, q Provider) bool {
	if p.Type != q.Type {
		return false
	}
	for _, k := range storeKeys(p) {
		for _, l := range storeKeys(q) {
			if k == l {
				return true
			}
		}
	}
	return false
}

// names is the set of names a template variable can take in a grant:
// any name, or those matching one of the patterns.
type names struct {
	any  bool
	pats []string
}

// userNames is what {user} can be in g: the names allow.users matches,
// or any name when allow.groups lets in members of a group (a member may
// have any name).
func userNames(g *Grant) names {
	if len(g.Allow.Groups) > 0 {
		return names{any: true}
	}
	return patternNames(g.Allow.Users)
}

// groupNames is what {group} can be in g: only the groups allow.groups
// matches (the policy expands {group} to no other).
func groupNames(g *Grant) names { return patternNames(g.Allow.Groups) }

func patternNames(pats []string) names {
	for _, p := range pats {
		if p == "*" {
			return names{any: true}
		}
	}
	return names{pats: pats}
}

// mayBe reports whether name may be in the set. For a glob it is a sound
// approximation: the literal parts before the first and after the last
// wildcard must fit.
func (n names) mayBe(name string) bool {
	if n.any {
		return true
	}
	for _, p := range n.pats {
		if globMayMatch(p, name) {
			return true
		}
	}
	return false
}

// mayShare reports whether one name may be in both sets.
func (n names) mayShare(m names) bool {
	if n.any || m.any {
		return true
	}
	for _, p := range n.pats {
		if !strings.ContainsAny(p, "*?") && m.mayBe(p) {
			return true
		}
	}
	for _, p := range m.pats {
		if !strings.ContainsAny(p, "*?") && n.mayBe(p) {
			return true
		}
	}
	// Two globs: assume they can meet.
	for _, p := range n.pats {
		for _, q := range m.pats {
			if strings.ContainsAny(p, "*?") && strings.ContainsAny(q, "*?") {
				return true
			}
		}
	}
	return false
}

// globMayMatch reports whether pattern (with * and ?) may match name:
// exactly for a plain name, else when name starts with the literal part
// before the first wildcard and ends with the part after the last.
func globMayMatch(pattern, name string) bool {
	i := strings.IndexAny(pattern, "*?")
	if i < 0 {
		return pattern == name
	}
	j := strings.LastIndexAny(pattern, "*?")
	head, tail := pattern[:i], pattern[j+1:]
	return len(name) >= len(head)+len(tail) && strings.HasPrefix(name, head) && strings.HasSuffix(name, tail)
}

// SegmentName is the inverse of policy.UserSegment: the one user (or
// group) name whose path segment is seg, and whether there is one. The
// policy package's tests hold the two to each other.
func SegmentName(seg string) (string, bool) {
	switch seg {
	case "%":
		return "", true
	case "%2E":
		return ".", true
	case "%2E%2E":
		return "..", true
	case "", ".", "..":
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			if i+2 >= len(seg) {
				return "", false
			}
			hi, ok1 := upperHex(seg[i+1])
			lo, ok2 := upperHex(seg[i+2])
			d := hi<<4 | lo
			if !ok1 || !ok2 || segmentOrdinary(d) {
				return "", false
			}
			b.WriteByte(d)
			i += 2
		case segmentOrdinary(c):
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	name := b.String()
	if name == "" || name == "." || name == ".." {
		return "", false
	}
	return name, true
}

func upperHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// segmentOrdinary is policy.UserSegment's set of bytes kept as they are.
func segmentOrdinary(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '.' || b == '_' || b == '-' || b == '@' || b == '+'
}

// segment is one segment of a prefix template.
type segment struct {
	v   string // VarUser, VarGroup or "" for a literal
	lit string
}

func splitTemplate(p string) []segment {
	if p == "" {
		return nil
	}
	var out []segment
	for s := range strings.SplitSeq(strings.TrimSuffix(p, "/"), "/") {
		if s == VarUser || s == VarGroup {
			out = append(out, segment{v: s})
		} else {
			out = append(out, segment{lit: s})
		}
	}
	return out
}

// varNames is what variable v can be in g.
func varNames(g *Grant, v string) names {
	if v == VarUser {
		return userNames(g)
	}
	return groupNames(g)
}

func varWord(v string) string {
	if v == VarUser {
		return "user"
	}
	return "group"
}

// prefixMeet says how a's and b's prefixes can meet, their buckets
// (containers) taken as the same. Templates are whole segments, so the
// two meet only segment by segment: a literal against a variable meets
// when some name's segment is that literal, {user} against {group} when
// a user has a group's name, and a variable against the same variable
// binds one user (group) to both sides; places bound to one user are
// that user's own, whatever else meets. Whatever the longer prefix has
// beyond the shorter is then inside the shorter's place: a variable
// there that is not bound (the shorter's place holds every user's or
// group's) is a cover.
func prefixMeet(a, b *Grant) meet {
	sa, sb := splitTemplate(a.Prefix), splitTemplate(b.Prefix)
	var why string
	userBound, groupBound, vars := false, false, false
	for i := range min(len(sa), len(sb)) {
		x, y := sa[i], sb[i]
		switch {
		case x.v == "" && y.v == "":
			if x.lit != y.lit {
				return meet{}
			}
		case x.v == "" || y.v == "":
			lit, v, g := x.lit, y.v, b
			if x.v != "" {
				lit, v, g = y.lit, x.v, a
			}
			name, ok := SegmentName(lit)
			if !ok || !varNames(g, v).mayBe(name) {
				return meet{}
			}
			vars = true
			if why == "" {
				why = fmt.Sprintf("when a %s is named %q", varWord(v), name)
			}
		case x.v == y.v:
			if !varNames(a, x.v).mayShare(varNames(b, y.v)) {
				return meet{}
			}
			vars = true
			if x.v == VarUser {
				userBound = true
			} else {
				groupBound = true
			}
		default: // {user} against {group}
			u, g := a, b
			if x.v == VarGroup {
				u, g = b, a
			}
			if !userNames(u).mayShare(groupNames(g)) {
				return meet{}
			}
			vars = true
			if why == "" {
				why = "when a user has the name of a group"
			}
		}
	}
	switch {
	case userBound:
		// Both places hold one user's segment at the same depth: they
		// are that user's own, whatever else meets.
		return meet{kind: same}
	case why != "":
		return meet{squat, why}
	}
	rest, short, long := sa[min(len(sa), len(sb)):], b.Prefix, a.Prefix
	if len(sb) > len(sa) {
		rest, short, long = sb[len(sa):], a.Prefix, b.Prefix
	}
	for _, s := range rest {
		if s.v == "" {
			continue
		}
		vars = true
		if s.v == VarUser || !groupBound {
			return meet{cover, fmt.Sprintf("for every name: %q holds every %s's %q", short, varWord(s.v), long)}
		}
	}
	if !vars {
		return meet{kind: static}
	}
	return meet{kind: same}
}

// containerMeet says how two azure grants' containers can be the same.
// A container template holds at most one {user} (two would not fit 63
// characters), which stands for a container segment: 3 to
// MaxContainerSegment characters of [a-z0-9] runs joined by single
// hyphens (policy.ContainerSegment).
func containerMeet(a, b *Grant) meet {
	ap, as, av := splitContainer(a.Container)
	bp, bs, bv := splitContainer(b.Container)
	switch {
	case !av && !bv:
		if a.Container == b.Container {
			return meet{kind: static}
		}
		return meet{}
	case av && bv && ap == bp && as == bs:
		if !userNames(a).mayShare(userNames(b)) {
			return meet{}
		}
		return meet{kind: same}
	case av != bv:
		c, p, s, g := a.Container, bp, bs, b
		if av {
			c, p, s, g = b.Container, ap, as, a
		}
		if len(c) < len(p)+len(s) || !strings.HasPrefix(c, p) || !strings.HasSuffix(c, s) {
			return meet{}
		}
		m := c[len(p) : len(c)-len(s)]
		// A plain segment is the name itself; any name may hash to one
		// of the encoded shape.
		if !containerSegmentShape(m) || !(hashShaped(m) || userNames(g).mayBe(m)) {
			return meet{}
		}
		return meet{squat, fmt.Sprintf("when a user is named %q", m)}
	}
	// Two different templates: look for one container name both give,
	// for some two segments. Every position of the name is fixed by a
	// literal of either template or free in both segments; a free one is
	// best a letter, which breaks no hyphen rule.
	for n := max(len(ap)+len(as), len(bp)+len(bs)) + MinContainerSegment; n <= maxContainer; n++ {
		w, ok := make([]byte, n), true
		for i := range w {
			ca, fa := containerAt(ap, as, n, i)
			cb, fb := containerAt(bp, bs, n, i)
			switch {
			case fa && fb:
				w[i] = 'a'
			case fa:
				w[i] = cb
			case fb, ca == cb:
				w[i] = ca
			default:
				ok = false
			}
		}
		if !ok {
			continue
		}
		ua, ub := string(w[len(ap):n-len(as)]), string(w[len(bp):n-len(bs)])
		if containerSegmentShape(ua) && containerSegmentShape(ub) {
			return meet{squat, fmt.Sprintf("when users are named %q and %q (both get container %q)", ua, ub, w)}
		}
	}
	return meet{}
}

// containerAt is the character at i of a name of length n made from
// prefix, a segment and suffix, or free when i falls in the segment.
func containerAt(prefix, suffix string, n, i int) (c byte, free bool) {
	switch {
	case i < len(prefix):
		return prefix[i], false
	case i >= n-len(suffix):
		return suffix[i-(n-len(suffix))], false
	}
	return 0, true
}

// splitContainer splits a container template at its {user}.
func splitContainer(c string) (prefix, suffix string, templated bool) {
	prefix, suffix, templated = strings.Cut(c, VarUser)
	return
}

// containerSegmentShape reports whether s has the shape of every
// container segment: MinContainerSegment to MaxContainerSegment
// characters, [a-z0-9] runs joined by single hyphens.
func containerSegmentShape(s string) bool {
	if len(s) < MinContainerSegment || len(s) > MaxContainerSegment || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	return containerChars(s) == ""
}

// hashShaped reports whether s may be an encoded container segment
// (policy.ContainerSegment): a readable part, "-" and 13 characters of
// a-z and 2-7. The name behind it is a hash preimage: any name may be.
func hashShaped(s string) bool {
	const hashLen = 13
	n := len(s) - hashLen
	if n < 2 || s[n-1] != '-' {
		return false
	}
	for i := n; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// locationMeet says how two storage grants' locations can meet; p and q
// are their providers.
func locationMeet(a, b *Grant, p, q Provider) meet {
	if !sameStore(p, q) {
		return meet{}
	}
	if p.Type != TypeAzure {
		if a.Bucket != b.Bucket {
			return meet{}
		}
		return prefixMeet(a, b)
	}
	c := containerMeet(a, b)
	if c.kind == never {
		return c
	}
	m := prefixMeet(a, b)
	switch {
	case m.kind == never:
		return m
	case c.kind == squat:
		return c
	case c.kind == same && m.kind == static:
		return meet{kind: same}
	}
	return m
}
