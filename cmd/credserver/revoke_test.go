package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/store"
)

// TestRevokeUser: credserver revoke -user U deletes all of U's delegation
// tokens and GitHub links, and nothing of anyone else's.
func TestRevokeUser(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{3}, store.KeySize)
	keyFile, db := filepath.Join(dir, "store.key"), filepath.Join(dir, "credserver.db")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "credserver.yaml")
	cfg := "hub:\n  api_url: http://127.0.0.1:8081/hub/api\nstore:\n  dsn: " + db + "\n  encryption_key_file: " + keyFile +
		"\nproviders:\n  s3: {type: aws}\n  gh: {type: github, client_id: Iv1.0123456789abcdef}\n" +
		"grants:\n  - {name: scratch, provider: s3, bucket: hub-scratch, prefix: \"{user}/\", allow: {users: [\"*\"]}}\n" +
		"  - {name: github, provider: gh, mode: user, allow: {users: [\"*\"]}}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, store.SQLiteConfig{Path: db, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for i, owner := range []string{"alice", "alice", "bob"} {
		if err := st.CreateDelegationToken(ctx, &store.DelegationToken{ID: owner + string(rune('0'+i)), Hash: sha256.Sum256([]byte{byte(i)}),
			Owner: owner, Grants: []string{"scratch"}, Access: "read", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob"} {
		if err := st.PutGitHubLink(ctx, &store.GitHubLink{Provider: "gh", User: u, AccessToken: "ghu_" + u}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	var out, errb bytes.Buffer
	if rc := run([]string{"revoke", "-config", cfgPath, "-user", "alice"}, &out, &errb); rc != 0 {
		t.Fatalf("revoke: exit %d: %s", rc, errb.String())
	}
	if !strings.Contains(out.String(), "2 delegation tokens revoked; GitHub links removed: gh") {
		t.Errorf("output: %q", out.String())
	}
	st, err = store.OpenSQLite(ctx, store.SQLiteConfig{Path: db, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if l, err := st.DelegationTokensOf(ctx, "alice"); err != nil || len(l) != 0 {
		t.Errorf("alice's tokens after revoke: %v, %v", l, err)
	}
	if _, err := st.GitHubLink(ctx, "gh", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alice's link after revoke: %v", err)
	}
	if l, _ := st.DelegationTokensOf(ctx, "bob"); len(l) != 1 {
		t.Errorf("bob's tokens: %v", l)
	}
	if _, err := st.GitHubLink(ctx, "gh", "bob"); err != nil {
		t.Errorf("bob's link: %v", err)
	}
	if rc := run([]string{"revoke", "-config", cfgPath}, &out, &errb); rc != 2 {
		t.Errorf("without -user: exit %d, want 2", rc)
	}
}
