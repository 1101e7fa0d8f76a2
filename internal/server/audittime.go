package server

import "time"

// lineTimes remembers, for an auditor, the text of the second each of an
// audit line's two times was last in. Under load a line's time is in the
// same second as the line before it, and a cached credential's expiry is
// the same on every hit, so most lines format neither (formatting the two
// was a quarter of the audit write). The zero value is ready.
type lineTimes struct {
	time, expires secondText
}

// secondText is the RFC 3339 text of one second, in UTC without its zone:
// "2006-01-02T15:04:05".
type secondText struct {
	sec  int64 // Unix time of text; valid when set
	set  bool
	text [len("2006-01-02T15:04:05")]byte
}

// maxRFC3339Sec is the first second (Unix time) of the year 10000, which
// RFC 3339 cannot write.
const maxRFC3339Sec = 253402300800

// appendRFC3339 appends t in UTC as t.UTC().AppendFormat writes it with
// time.RFC3339, or time.RFC3339Nano when nano is set (the fraction of a
// second with its trailing zeros cut, none when it is zero), the second
// from st when it holds t's. st may be nil.
func appendRFC3339(b []byte, t time.Time, nano bool, st *secondText) []byte {
	sec := t.Unix()
	if st == nil || sec < 0 || sec >= maxRFC3339Sec {
		// Years before 1970 (never written) and after 9999 are not
		// remembered: their text has another length.
		layout := time.RFC3339
		if nano {
			layout = time.RFC3339Nano
		}
		return t.UTC().AppendFormat(b, layout)
	}
	if !st.set || st.sec != sec {
		t.UTC().AppendFormat(st.text[:0], "2006-01-02T15:04:05")
		st.sec, st.set = sec, true
	}
	b = append(b, st.text[:]...)
	if ns := t.Nanosecond(); nano && ns != 0 {
		var frac [len(".999999999")]byte
		frac[0] = '.'
		for i := len(frac) - 1; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := len(frac)
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}
