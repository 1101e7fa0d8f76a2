package server

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendJSON encodes ev exactly as encoding/json would (same field order,
// omitempty, escaping), without reflection: the audit line is written on
// every request, and json.Marshal was a sixth of a warm request's time.
// TestAuditJSONMatchesEncodingJSON holds the two to the same bytes. lt,
// when not nil, remembers the text of the times' seconds from one line to
// the next.
func (ev *auditEvent) appendJSON(b []byte, lt *lineTimes) []byte {
	var timeSec, expiresSec *secondText
	if lt != nil {
		timeSec, expiresSec = &lt.time, &lt.expires
	}
	b = append(b, `{"time":"`...)
	if ev.Time.Location() == time.UTC {
		b = appendRFC3339(b, ev.Time, true, timeSec)
	} else {
		// Written in its own zone, as encoding/json does; the auditor's
		// times are in UTC.
		b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, '"')
	b = appendField(b, `,"event":`, ev.Event, false)
	b = append(b, `,"request_id":`...)
	if ev.RequestID == "" && ev.requestSeq != 0 {
		// The request's id, written without building its string.
		b = append(b, '"')
		b = append(b, ev.requestPrefix...)
		b = strconv.AppendUint(b, ev.requestSeq, 10)
		b = append(b, '"')
	} else {
		b = appendJSONString(b, ev.RequestID)
	}
	b = appendField(b, `,"user":`, ev.User, false)
	b = appendField(b, `,"grant":`, ev.Grant, false)
	b = appendField(b, `,"provider":`, ev.Provider, true)
	b = appendField(b, `,"access":`, ev.Access, true)
	b = appendField(b, `,"location":`, ev.Location, true)
	if !ev.ExpiresAt.IsZero() {
		b = append(b, `,"expires_at":`...)
		b = ev.ExpiresAt.appendJSON(b, expiresSec)
	}
	b = appendField(b, `,"access_key_id":`, ev.AccessKeyID, true)
	if ev.CacheHit {
		b = append(b, `,"cache_hit":true`...)
	} else {
		b = append(b, `,"cache_hit":false`...)
	}
	b = appendField(b, `,"client":`, ev.Client, false)
	b = appendField(b, `,"code":`, ev.Code, true)
	b = appendField(b, `,"github_login":`, ev.GitHubLogin, true)
	b = appendField(b, `,"token_id":`, ev.TokenID, true)
	return append(b, '}')
}

// appendField appends key (the comma, the quoted name and the colon) and
// v quoted; nothing when omitEmpty and v is "".
func appendField(b []byte, key, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, key...)
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes encoding/json writes as they are with HTML
// escaping on: printable, except '"', '\\', '<', '>' and '&'.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendJSONString quotes s as encoding/json does with HTML escaping on:
// control characters, <, >, & and U+2028/U+2029 as \u escapes, invalid
// UTF-8 as U+FFFD. Runs of plain bytes (all of most values) are copied at
// once.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
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
