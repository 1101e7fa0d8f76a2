package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a config file. Parse and Validate return these
// joined with errors.Join; unwrap with `interface{ Unwrap() []error }` and
// errors.As to list them.
type Error struct {
	// Line is the 1-based line the problem is on, 0 when unknown (a
	// Config built in code).
	Line int
	// Msg names the key and says what is wrong, e.g.
	// `grants[1] "shared": access "write" must be read or readwrite`.
	Msg string
}

// Error returns "line N: Msg", or Msg alone when the line is unknown.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// lineIndex maps key paths to lines: "hub" and "hub.api_url" to the line
// of the key, "grants[1]" to the line of the sequence item, "" to the
// first line of the top-level mapping.
type lineIndex map[string]int

// indexLines walks the document once, recording the line of every key and
// sequence item.
func indexLines(root *yaml.Node) lineIndex {
	idx := lineIndex{"": root.Line}
	var walk func(path string, n *yaml.Node, depth int)
	walk = func(path string, n *yaml.Node, depth int) {
		// The config is a few levels deep; the bound keeps a hostile
		// file of nested collections from costing much. Aliases are
		// not followed: their lines are the anchor's, and following
		// them could cost exponential time.
		if depth > 8 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if _, seen := idx[p]; !seen {
					idx[p] = k.Line
				}
				walk(p, v, depth+1)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx[p] = item.Line
				walk(p, item, depth+1)
			}
		}
	}
	walk("", root, 0)
	return idx
}

// line returns the line of path or, when path is not in the file (a
// missing key), of its nearest ancestor that is. It is 0 only for a
// Config built in code.
func (idx lineIndex) line(path string) int {
	if idx == nil {
		return 0
	}
	for {
		if l, ok := idx[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
}
