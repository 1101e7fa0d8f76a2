package server

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// appendJSON encodes ev exactly as encoding/json would (same field order,
// omitempty, escaping), without reflection: the audit line is written on
// every request, and json.Marshal was a sixth of a warm request's time.
// TestAuditJSONMatchesEncodingJSON holds the two to the same bytes.
func (ev *auditEvent) appendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "event", ev.Event, false)
	b = appendField(b, "request_id", ev.RequestID, false)
	b = appendField(b, "user", ev.User, false)
	b = appendField(b, "grant", ev.Grant, false)
	b = appendField(b, "provider", ev.Provider, true)
	b = appendField(b, "access", ev.Access, true)
	b = appendField(b, "location", ev.Location, true)
	if !ev.ExpiresAt.IsZero() {
		b = append(b, `,"expires_at":`...)
		b = ev.ExpiresAt.appendJSON(b)
	}
	b = appendField(b, "access_key_id", ev.AccessKeyID, true)
	b = append(b, `,"cache_hit":`...)
	b = strconv.AppendBool(b, ev.CacheHit)
	b = appendField(b, "client", ev.Client, false)
	b = appendField(b, "code", ev.Code, true)
	b = appendField(b, "github_login", ev.GitHubLogin, true)
	b = appendField(b, "token_id", ev.TokenID, true)
	return append(b, '}')
}

func appendField(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping on:
// control characters, <, >, & and U+2028/U+2029 as \u escapes, invalid
// UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// lineBufs recycles audit line buffers.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
