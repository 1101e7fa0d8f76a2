package server

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

var auditStrings = []string{"", "alice", `quo"te`, `back\slash`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f", "<script>&amp;",
	"émile", "日本", "\u2028\u2029", "bad\xffutf8\xc3", "s3://hub-scratch/sp%20ace/", "\b\f"}

// TestAuditJSONMatchesEncodingJSON: the hand-written encoder produces the
// same bytes as json.Marshal for every field, including hostile strings.
func TestAuditJSONMatchesEncodingJSON(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return auditStrings[rnd.IntN(len(auditStrings))] }
	var lt lineTimes
	for i := range 2000 {
		ev := auditEvent{
			Time:  time.Date(2026, 11, 24, 5, 43, rnd.IntN(60), rnd.IntN(1e9), time.UTC),
			Event: pick(), RequestID: pick(), User: pick(), Grant: pick(), Provider: pick(), Access: pick(),
			Location: pick(), ExpiresAt: pickTime(rnd), AccessKeyID: pick(), CacheHit: i%2 == 0, Client: pick(), Code: pick(),
			GitHubLogin: pick(), TokenID: pick(),
		}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.appendJSON(nil, &lt); string(got) != string(want) {
			t.Fatalf("event %+v:\n got %s\nwant %s", ev, got, want)
		}
	}
}

// pickTime is the zero time (left out of the line) or one with nanoseconds
// and a zone, which the line writes in UTC to the second.
func pickTime(rnd *rand.Rand) auditTime {
	if rnd.IntN(3) == 0 {
		return auditTime{}
	}
	return auditTime(time.Date(2026, 12, 1, rnd.IntN(24), rnd.IntN(60), rnd.IntN(60), rnd.IntN(1e9), time.FixedZone("x", 3600)))
}

func FuzzAuditJSONString(f *testing.F) {
	for _, s := range auditStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

// A request id given in parts is written as the id's string would be.
func TestAuditJSONRequestIDParts(t *testing.T) {
	at := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	parts := auditEvent{Time: at, Event: "issued", requestPrefix: "k3x9a2bq-", requestSeq: 42}
	whole := auditEvent{Time: at, Event: "issued", RequestID: "k3x9a2bq-42"}
	if got, want := parts.appendJSON(nil, nil), whole.appendJSON(nil, nil); string(got) != string(want) {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
