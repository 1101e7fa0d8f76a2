package config

import (
	"fmt"
	"net"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Template variables.
const (
	VarUser  = "{user}"
	VarGroup = "{group}"
)

// checkPrefix says what is wrong with a prefix template, or "". A valid
// template is "" or a sequence of segments each followed by "/"; a segment
// is {user}, {group} or a literal free of characters that mean something
// to a glob, a shell, an IAM policy or a path resolver. Keeping variables
// whole segments is what makes one user's prefix never a prefix of
// another's.
func checkPrefix(p string) string {
	switch {
	case p == "":
		return ""
	case !utf8.ValidString(p):
		return "is not valid UTF-8"
	case strings.HasPrefix(p, "/"):
		return `must not start with "/" (it is relative to the bucket)`
	case !strings.HasSuffix(p, "/"):
		return `must end with "/" (or be "" for the whole bucket), so that "alice" never covers "alice2/"`
	case strings.Contains(p, "//"):
		return `must not contain an empty segment ("//")`
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p, "/"), "/") {
		if seg == VarUser || seg == VarGroup {
			continue
		}
		if msg := checkSegment(seg); msg != "" {
			return msg
		}
	}
	return ""
}

// checkSegment checks one literal prefix segment.
func checkSegment(seg string) string {
	if seg == "." || seg == ".." {
		return fmt.Sprintf("must not contain a %q segment", seg)
	}
	if msg := checkBraces(seg, "a whole path segment, like \"home/{user}/\""); msg != "" {
		return msg
	}
	if i := strings.IndexAny(seg, `*?$\`); i >= 0 {
		return fmt.Sprintf("must not contain %q", seg[i])
	}
	if strings.ContainsFunc(seg, isSpaceOrControl) {
		return "must not contain whitespace or control characters"
	}
	return ""
}

// checkBraces explains a "{" or "}" in a literal: a misplaced variable, an
// unknown one or a stray brace. where says where variables may go.
func checkBraces(lit, where string) string {
	open := strings.IndexByte(lit, '{')
	end := strings.IndexByte(lit, '}')
	switch {
	case open < 0 && end < 0:
		return ""
	case end >= 0 && (open < 0 || end < open):
		return `has an unmatched "}"`
	case end < 0:
		return `has an unmatched "{"`
	}
	if inner := strings.IndexByte(lit[open+1:end], '{'); inner >= 0 {
		return `has an unmatched "{"`
	}
	v := lit[open : end+1]
	if v == VarUser || v == VarGroup {
		return fmt.Sprintf("%s must be %s", v, where)
	}
	return fmt.Sprintf("has unknown variable %q; only {user} and {group} exist", v)
}

// Container segment bounds: {user} in an azure container template
// expands to policy.ContainerSegment of the user name, which is 3 to
// MaxContainerSegment lowercase letters, digits and single hyphens,
// starting and ending with a letter or digit.
const (
	MinContainerSegment = 3
	MaxContainerSegment = 40
)

// maxContainer is Azure's limit on a container name.
const maxContainer = 63

// checkContainer says what is wrong with an azure container name or
// template, or "". A template must give a valid name for every user: its
// literal parts, with each {user} standing for up to MaxContainerSegment
// characters, must fit Azure's 63.
func checkContainer(c string) string {
	if strings.Contains(c, VarGroup) {
		return "only {user} may appear in a container name"
	}
	lit := strings.ReplaceAll(c, VarUser, "")
	if strings.ContainsAny(lit, "{}") {
		return `may contain no "{" or "}" other than {user}`
	}
	for part := range strings.SplitSeq(c, VarUser) {
		if msg := containerChars(part); msg != "" {
			return msg
		}
	}
	if strings.HasPrefix(c, "-") || strings.HasSuffix(c, "-") {
		return "must start and end with a letter, digit or {user}"
	}
	if n := strings.Count(c, VarUser); n > 0 {
		if longest := len(lit) + n*MaxContainerSegment; longest > maxContainer {
			return fmt.Sprintf("is too long for some users: {user} stands for up to %d characters, so names can reach %d, and Azure allows %d; shorten the rest of the template to at most %d characters",
				MaxContainerSegment, longest, maxContainer, maxContainer-n*MaxContainerSegment)
		}
		return ""
	}
	if len(c) < 3 || len(c) > maxContainer {
		return "must be 3-63 characters starting and ending with a letter or digit"
	}
	return ""
}

func containerChars(s string) string {
	for i := range len(s) {
		if b := s[i]; !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-') {
			return "may contain only lowercase letters, digits and single hyphens"
		}
	}
	if strings.Contains(s, "--") {
		return "may contain only lowercase letters, digits and single hyphens"
	}
	return ""
}

// checkS3Bucket applies the S3 general-purpose bucket naming rules.
func checkS3Bucket(b string) string {
	if msg := bucketChars(b, ".-", "'.' and '-'"); msg != "" {
		return msg
	}
	switch {
	case len(b) < 3 || len(b) > 63:
		return "must be 3-63 characters"
	case strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-."):
		return `must not contain "..", ".-" or "-."`
	case net.ParseIP(b) != nil:
		return "must not look like an IP address"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return fmt.Sprintf("must not start with %q", p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return fmt.Sprintf("must not end with %q", s)
		}
	}
	return ""
}

// checkGCSBucket applies the Cloud Storage bucket naming rules.
func checkGCSBucket(b string) string {
	if msg := bucketChars(b, ".-_", "'.', '-' and '_'"); msg != "" {
		return msg
	}
	switch {
	case len(b) < 3 || len(b) > 222:
		return "must be 3-63 characters (222 with dots)"
	case !strings.Contains(b, ".") && len(b) > 63:
		return "must be 3-63 characters (222 with dots)"
	case strings.Contains(b, ".."):
		return `must not contain ".."`
	case net.ParseIP(b) != nil:
		return "must not look like an IP address"
	case strings.HasPrefix(b, "goog") || strings.Contains(b, "google"):
		return `must not start with "goog" or contain "google"`
	}
	for part := range strings.SplitSeq(b, ".") {
		if len(part) > 63 {
			return "each dot-separated part must be at most 63 characters"
		}
	}
	return ""
}

// bucketChars checks a bucket name holds lowercase letters, digits and
// extra, and starts and ends with a letter or digit.
func bucketChars(b, extra, extraDesc string) string {
	if b == "" {
		return "must not be empty"
	}
	for i := range len(b) {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return "may contain only lowercase letters, digits, " + extraDesc
		}
	}
	if !isAlnum(rune(b[0])) || !isAlnum(rune(b[len(b)-1])) {
		return "must start and end with a letter or digit"
	}
	return ""
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isSpaceOrControl(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
}
