package integration

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestDistinctDurationsOneSTSCall: asking 50 distinct durations between 1h
// and 2h costs one STS call between them (the cache keeps one credential
// per provider, account, grant and access), and a duration below the
// 30-minute minimum is a 400 naming it, with no STS call.
func TestDistinctDurationsOneSTSCall(t *testing.T) {
	s := sharedStack(t)
	ctx := context.Background()
	const user = "durations"
	if err := s.Hub.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Hub.Token(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	sts0 := stsCalls.Count()
	var key string
	for i := range 50 {
		secs := 3600 + i*3600/49
		r := call(t, fmt.Sprintf("%s/v1/credentials/scratch?duration=%d", s.URL, secs), "token "+tok)
		if r.Status != 200 {
			t.Fatalf("duration=%d: %d %s", secs, r.Status, r.Raw)
		}
		if key == "" {
			key = keyID(r)
		} else if keyID(r) != key {
			t.Errorf("duration=%d got another credential", secs)
		}
	}
	if n := stsCalls.Count() - sts0; n != 1 {
		t.Errorf("50 distinct durations made %d STS calls, want 1", n)
	}
	sts0 = stsCalls.Count()
	for _, d := range []string{"15m", "900", "29m59s"} {
		r := call(t, s.URL+"/v1/credentials/scratch-ro?duration="+d, "token "+tok)
		if r.Status != 400 || errCode(r) != "bad_request" || !strings.Contains(r.Raw, "minimum of 30m") {
			t.Errorf("duration=%s: %d %s, want 400 naming the 30m minimum", d, r.Status, r.Raw)
		}
	}
	if n := stsCalls.Count() - sts0; n != 0 {
		t.Errorf("refused short durations made %d STS calls", n)
	}
}

// TestHugeGrantNameLogsLittle: a client with no token sending a 12 KB grant
// name cannot make the server write more than a kilobyte about it to the
// audit trail or the logs.
func TestHugeGrantNameLogsLittle(t *testing.T) {
	s := sharedStack(t)
	name := strings.Repeat("g", 12<<10)
	audit0, logs0 := len(s.Audit()), len(s.Logs())
	r := call(t, s.URL+"/v1/credentials/"+url.PathEscape(name), "")
	if r.Status != 401 {
		t.Fatalf("token-less request: %d %s", r.Status, r.Raw)
	}
	if len(r.Raw) > 1024 || strings.Contains(r.Raw, name[:200]) {
		t.Errorf("the answer echoes the name (%d bytes)", len(r.Raw))
	}
	r = call(t, s.URL+"/v1/credentials/"+url.PathEscape(name), "token "+s.Tokens["bob"])
	if r.Status != 404 || errCode(r) != "unknown_grant" || len(r.Raw) > 1024 {
		t.Errorf("authenticated request for a 12 KB name: %d, %d bytes", r.Status, len(r.Raw))
	}
	if n := len(s.Audit()) - audit0; n > 2*1024 {
		t.Errorf("two requests wrote %d bytes to the audit trail", n)
	}
	if n := len(s.Logs()) - logs0; n > 2*1024 {
		t.Errorf("two requests wrote %d bytes to the logs", n)
	}
}
