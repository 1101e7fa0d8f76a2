package integration

import (
	"context"
	"strings"
	"testing"
)

// TestNoSecretInLogsAuditOrErrors drives the flows (whoami, every grant for
// several users, every kind of refusal, cold and cached paths), gathers every
// secret that was used or issued, and checks that none appears in
// credserver's logs (debug level), its audit trail, or any error body.
func TestNoSecretInLogsAuditOrErrors(t *testing.T) {
	s := sharedStack(t)
	secrets := map[string]string{"minio root password": s.MinIO.RootPassword}
	for u, tok := range s.Tokens {
		secrets["hub token of "+u] = tok
	}
	var errorBodies []string
	for _, u := range []string{"alice", "bob", "carol", "dask"} {
		tok := "token " + s.Tokens[u]
		call(t, s.URL+"/v1/whoami", tok)
		for _, g := range []string{"scratch", "scratch-ro", "shared", "nope"} {
			for _, q := range []string{"", "?access=read", "?duration=2h", "?duration=99h", "?access=bogus"} {
				r := call(t, s.URL+"/v1/credentials/"+g+q, tok)
				if r.Status != 200 {
					errorBodies = append(errorBodies, r.Raw)
					continue
				}
				c, _ := r.Body["credentials"].(map[string]any)
				for _, k := range []string{"secret_access_key", "session_token"} {
					if v, _ := c[k].(string); v != "" {
						secrets[k+" issued to "+u] = v
					}
				}
			}
		}
	}
	// Refusals that carry a token.
	for _, h := range []string{"token " + s.Tokens["alice"] + "x", "Basic " + s.Tokens["alice"], "token " + strings.Repeat("a", 600)} {
		errorBodies = append(errorBodies, call(t, s.URL+"/v1/credentials/scratch", h).Raw)
	}
	errorBodies = append(errorBodies, call(t, s.URL+"/v1/credentials/scratch?token="+s.Tokens["bob"], "").Raw)
	// A cold identity lookup and a cold STS call for a new token.
	fresh, err := s.Hub.Token(context.Background(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	secrets["fresh hub token"] = fresh
	errorBodies = append(errorBodies, call(t, s.URL+"/v1/credentials/scratch", "token "+fresh).Raw)

	if len(secrets) < 10 {
		t.Fatalf("only %d secrets gathered: the flows did not run", len(secrets))
	}
	haystacks := map[string]string{"logs": s.Logs(), "audit trail": s.Audit(), "error bodies": strings.Join(errorBodies, "\n")}
	if len(haystacks["logs"]) < 1000 || len(haystacks["audit trail"]) < 1000 {
		t.Fatalf("logs (%d bytes) or audit trail (%d bytes) look empty: nothing was checked",
			len(haystacks["logs"]), len(haystacks["audit trail"]))
	}
	for where, text := range haystacks {
		for what, secret := range secrets {
			if len(secret) >= 8 && strings.Contains(text, secret) {
				t.Errorf("the %s contain the %s", where, what)
			}
		}
	}
}
