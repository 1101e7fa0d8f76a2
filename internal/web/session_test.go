package web

import (
	"strings"
	"testing"
	"time"
)

func testSealer(t testing.TB) *sealer {
	s, err := newSealer([]byte(strings.Repeat("k", MinSessionKeyBytes)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTripAndRefusals(t *testing.T) {
	s := testSealer(t)
	now := time.Unix(1_800_000_000, 0)
	v, err := s.seal(sessionCookie, session{Token: "hub-token-secret", CSRF: "c"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "hub-token-secret") {
		t.Fatal("sealed value holds the token in clear")
	}
	var got session
	if err := s.open(sessionCookie, v, now, &got); err != nil || got.Token != "hub-token-secret" {
		t.Fatalf("open = %v %+v", err, got)
	}
	other, _ := newSealer([]byte(strings.Repeat("o", MinSessionKeyBytes)))
	flipped := []byte(v)
	flipped[len(flipped)/2] ^= 1
	for name, err := range map[string]error{
		"expired":       s.open(sessionCookie, v, now.Add(time.Hour), &got),
		"other purpose": s.open(stateCookie, v, now, &got),
		"other key":     other.open(sessionCookie, v, now, &got),
		"tampered":      s.open(sessionCookie, string(flipped), now, &got),
		"truncated":     s.open(sessionCookie, v[:20], now, &got),
		"empty":         s.open(sessionCookie, "", now, &got),
	} {
		if err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := newSealer(make([]byte, MinSessionKeyBytes-1)); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}

func FuzzOpen(f *testing.F) {
	s := testSealer(f)
	v, _ := s.seal(sessionCookie, session{Token: "t"}, time.Now().Add(time.Hour))
	f.Add(v)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, in string) {
		var got session
		// Only sessions holding "t" are ever sealed with this key: any
		// other value that opens is a forgery.
		if err := s.open(sessionCookie, in, time.Now(), &got); err == nil && got.Token != "t" {
			t.Fatalf("opened a value this test never sealed: %q", in)
		}
	})
}
