package credctl

import (
	"bytes"
	"strings"
)

// keyValue is one setting credctl owns in a profile.
type keyValue struct{ key, value string }

// sectionHeader is the AWS config file header for profile p.
func sectionHeader(p string) string {
	if p == "default" {
		return "[default]"
	}
	return "[profile " + p + "]"
}

// updateProfile returns src with keys set in profile's section. Only the
// lines of those keys (and their indented continuation lines) change; every
// other byte is kept. A missing key goes after the section's last setting; a
// missing section is appended. The result is a fixed point: applying it again
// changes nothing.
//
// The file is read the way botocore's configparser reads it: "=" or ":"
// separates a key, keys are case-insensitive, "#" and ";" start comment
// lines, indented lines continue the previous value, and [profile P] (or
// [default]) names a profile.
func updateProfile(src []byte, profile string, keys []keyValue) []byte {
	lines := splitLines(string(src))
	eol := "\n"
	if bytes.Contains(src, []byte("\r\n")) {
		eol = "\r\n"
	}
	start, end := findSection(lines, profile)
	if start < 0 {
		out := string(src)
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += eol
		}
		if n := len(lines); n > 0 && strings.TrimSpace(lines[n-1]) != "" {
			out += eol // a blank line between sections
		}
		out += sectionHeader(profile) + eol
		for _, kv := range keys {
			out += kv.key + " = " + kv.value + eol
		}
		return []byte(out)
	}

	out := append([]string(nil), lines[:start+1]...)
	last := start // index in out after which missing keys go
	done := make(map[string]bool, len(keys))
	for i := start + 1; i < end; i++ {
		l := lines[i]
		key, isKey := lineKey(l)
		if kv, ours := findKey(keys, key); isKey && ours {
			for i+1 < end && isContinuation(lines[i+1]) {
				i++ // the old value's continuation goes with it
			}
			if done[kv.key] {
				continue // a duplicate would make configparser fail
			}
			done[kv.key] = true
			out = append(out, kv.key+" = "+kv.value+lineEnding(l))
			last = len(out) - 1
			continue
		}
		out = append(out, l)
		if isKey || isContinuation(l) {
			last = len(out) - 1
		}
	}
	var missing []string
	for _, kv := range keys {
		if !done[kv.key] {
			missing = append(missing, kv.key+" = "+kv.value+eol)
		}
	}
	if len(missing) > 0 {
		if !strings.HasSuffix(out[last], "\n") {
			out[last] += eol
		}
		out = append(out[:last+1], append(missing, out[last+1:]...)...)
	}
	out = append(out, lines[end:]...)
	return []byte(strings.Join(out, ""))
}

// splitLines splits s after each "\n", keeping the endings.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func lineEnding(l string) string {
	switch {
	case strings.HasSuffix(l, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(l, "\n"):
		return "\n"
	}
	return ""
}

// findSection returns the index of profile's header line and of the line
// after its section, or -1, -1.
func findSection(lines []string, profile string) (start, end int) {
	start = -1
	for i, l := range lines {
		name, ok := headerName(l)
		if !ok {
			continue
		}
		if start >= 0 {
			return start, i
		}
		if isProfile(name, profile) {
			start = i
		}
	}
	if start < 0 {
		return -1, -1
	}
	return start, len(lines)
}

func headerName(l string) (string, bool) {
	if l == "" || l[0] == ' ' || l[0] == '\t' {
		return "", false
	}
	t := strings.TrimSpace(l)
	j := strings.LastIndexByte(t, ']')
	if !strings.HasPrefix(t, "[") || j < 2 {
		return "", false
	}
	return strings.TrimSpace(t[1:j]), true
}

// isProfile reports whether a section named name configures profile, as
// botocore decides: "profile P" with P one shell word, or "default" for the
// default profile ("[profile default]" is left alone: a [default] written
// after it takes precedence in botocore).
func isProfile(name, profile string) bool {
	if profile == "default" {
		return name == "default"
	}
	rest, ok := strings.CutPrefix(name, "profile")
	return ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') && strings.TrimSpace(rest) == profile
}

// lineKey returns the lower-cased key of a "key = value" line.
func lineKey(l string) (string, bool) {
	if l == "" || l[0] == ' ' || l[0] == '\t' {
		return "", false
	}
	t := strings.TrimSpace(l)
	if t == "" || t[0] == '#' || t[0] == ';' || t[0] == '[' {
		return "", false
	}
	i := strings.IndexAny(t, "=:")
	if i <= 0 {
		return "", false
	}
	return strings.ToLower(strings.TrimSpace(t[:i])), true
}

func isContinuation(l string) bool {
	if l == "" || (l[0] != ' ' && l[0] != '\t') {
		return false
	}
	t := strings.TrimSpace(l)
	return t != "" && t[0] != '#' && t[0] != ';'
}

func findKey(keys []keyValue, key string) (keyValue, bool) {
	for _, kv := range keys {
		if kv.key == key {
			return kv, true
		}
	}
	return keyValue{}, false
}
