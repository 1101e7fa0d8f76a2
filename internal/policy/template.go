package policy

import (
	"fmt"
	"strings"

	"github.com/credserver/credserver/internal/config"
)

// template is a prefix or container template split at its variables:
// parts[0] var[0] parts[1] ... parts[n].
type template struct {
	parts    []string
	vars     []string // config.VarUser or config.VarGroup
	hasUser  bool
	hasGroup bool
}

// parseTemplate splits s at {user} and, when groups is true, {group}.
// config.Validate has checked where variables may stand; this fails on
// anything else rather than pass an unknown brace through.
func parseTemplate(s string, groups bool) (template, error) {
	var t template
	for {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			t.parts = append(t.parts, s)
			return t, nil
		}
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, config.VarUser):
			t.vars = append(t.vars, config.VarUser)
			t.hasUser = true
		case groups && strings.HasPrefix(rest, config.VarGroup):
			t.vars = append(t.vars, config.VarGroup)
			t.hasGroup = true
		default:
			return template{}, fmt.Errorf("unexpected %q in %q", rest[0], s)
		}
		t.parts = append(t.parts, s[:i])
		s = rest[len(t.vars[len(t.vars)-1]):]
	}
}

func (t *template) static() bool { return len(t.vars) == 0 }

// size is the length of the expansion with these segments.
func (t *template) size(userSeg, groupSeg string) int {
	n := 0
	for _, p := range t.parts {
		n += len(p)
	}
	for _, v := range t.vars {
		if v == config.VarUser {
			n += len(userSeg)
		} else {
			n += len(groupSeg)
		}
	}
	return n
}

// write appends the expansion with these segments to b.
func (t *template) write(b *strings.Builder, userSeg, groupSeg string) {
	for i, v := range t.vars {
		b.WriteString(t.parts[i])
		if v == config.VarUser {
			b.WriteString(userSeg)
		} else {
			b.WriteString(groupSeg)
		}
	}
	b.WriteString(t.parts[len(t.parts)-1])
}

// expand returns the expansion with these segments.
func (t *template) expand(userSeg, groupSeg string) string {
	if t.static() {
		return t.parts[0]
	}
	var b strings.Builder
	b.Grow(t.size(userSeg, groupSeg))
	t.write(&b, userSeg, groupSeg)
	return b.String()
}
