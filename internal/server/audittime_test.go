package server

import (
	"math/rand/v2"
	"testing"
	"time"
)

// appendRFC3339 writes what time's formatter writes, in every zone, for
// times across and beyond the range it remembers, whether the second is
// remembered or not.
func TestAppendRFC3339MatchesTime(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	zones := []*time.Location{time.UTC, time.FixedZone("x", 3600), time.FixedZone("y", -9*3600-30*60)}
	edges := []int64{0, 0, 1, 59, 60, 86399, 86400, 951782400, 951868800, 4107542400, maxRFC3339Sec - 1, maxRFC3339Sec, -1, -86401}
	var st secondText
	for i := range 200000 {
		var sec int64
		switch {
		case i < len(edges):
			sec = edges[i]
		case i%3 == 0:
			// The same second again, most lines' case.
			sec = st.sec
		default:
			sec = rnd.Int64N(maxRFC3339Sec+2e9) - 1e9
		}
		var ns int
		switch rnd.IntN(4) {
		case 0:
		case 1:
			ns = rnd.IntN(1000) * 1e6
		default:
			ns = rnd.IntN(1e9)
		}
		tm := time.Unix(sec, int64(ns)).In(zones[i%len(zones)])
		for _, nano := range []bool{false, true} {
			layout := time.RFC3339
			if nano {
				layout = time.RFC3339Nano
			}
			want := tm.UTC().Format(layout)
			for _, st := range []*secondText{&st, nil} {
				if got := string(appendRFC3339([]byte("x"), tm, nano, st)); got != "x"+want {
					t.Fatalf("%v nano=%v remembered=%v: got %s, want x%s", tm, nano, st != nil, got, want)
				}
			}
		}
	}
}

func FuzzAppendRFC3339(f *testing.F) {
	f.Add(int64(1765163045), int64(123456789), int64(1765163045))
	f.Fuzz(func(t *testing.T, sec, ns, before int64) {
		var st secondText
		appendRFC3339(nil, time.Unix(before, 0), false, &st)
		tm := time.Unix(sec, ns)
		for _, layout := range []string{time.RFC3339, time.RFC3339Nano} {
			want := tm.UTC().Format(layout)
			if got := string(appendRFC3339(nil, tm, layout == time.RFC3339Nano, &st)); got != want {
				t.Fatalf("%v %s: got %s, want %s", tm, layout, got, want)
			}
		}
	})
}
