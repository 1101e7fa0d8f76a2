package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration that YAML spells as a Go duration ("1h",
// "90m") or as an integer number of seconds (3600). Negative values are
// rejected.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler. Its errors are
// *yaml.TypeError so decoding goes on and reports every bad value.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeError(n, "a duration must be a value such as 1h, 90m or 3600 (seconds)")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return typeError(n, err.Error())
	}
	*d = Duration(v)
	return nil
}

func typeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

// ParseDuration parses a Go duration ("1h30m") or a whole number of
// seconds ("5400"), the two spellings the config and the API accept. It
// rejects negative values and values that overflow time.Duration.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration; use a value such as 1h, 90m or 3600 (seconds)")
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("duration %q is negative", clip(s))
	}
	if allDigits(s) {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil || secs > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("duration %q is too long", clip(s))
		}
		return time.Duration(secs) * time.Second, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q; use a value such as 1h, 90m or 3600 (seconds)", clip(s))
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip bounds a caller-supplied value quoted back in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// String formats d as time.Duration does, without the zero units it
// appends: "12h", "1h30m", "15m", "90s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
