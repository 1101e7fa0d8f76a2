package policy

// UserSegment returns the path segment that stands for a hub user (or
// group) name in prefixes, container names, IAM policies and CEL strings.
//
// Ordinary names, made only of ASCII letters, digits and ". _ - @ +",
// are returned unchanged, so that data kept under $JUPYTERHUB_USER stays
// where it is. Any other name is percent-encoded: every byte outside that
// set becomes "%" and two upper-case hex digits; "." and ".." have their
// dots encoded ("%2E", "%2E%2E"); the empty name becomes "%".
//
// The mapping is injective: ordinary names contain no "%", and every
// encoded name decodes back to its input, so two names never share a
// segment. The result is never "", "." or "..", and contains only
// letters, digits and ". _ - @ + %": no "/", "*", "?", "$", "\", quotes,
// braces, whitespace or control characters.
func UserSegment(name string) string {
	switch name {
	case "":
		// "%" alone is never produced otherwise: an encoded byte is
		// always "%" followed by two hex digits.
		return "%"
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	n := 0
	for i := range len(name) {
		if !ordinary(name[i]) {
			n++
		}
	}
	if n == 0 {
		return name
	}
	const hex = "0123456789ABCDEF"
	buf := make([]byte, 0, len(name)+2*n)
	for i := range len(name) {
		b := name[i]
		if ordinary(b) {
			buf = append(buf, b)
		} else {
			buf = append(buf, '%', hex[b>>4], hex[b&15])
		}
	}
	return string(buf)
}

// ordinary reports whether b may appear unencoded in a user segment.
func ordinary(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '.', '_', '-', '@', '+':
		return true
	}
	return false
}
