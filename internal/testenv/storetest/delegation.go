package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/credserver/credserver/internal/store"
)

func sampleToken(id, owner string, expires time.Time) *store.DelegationToken {
	return &store.DelegationToken{
		ID: id, Hash: sha256.Sum256([]byte("csd_secret_" + id)), Owner: owner,
		OwnerCreated: t0.Add(-time.Hour), Grants: []string{"scratch", "shared"},
		Access: "read", Note: "dask " + id, ExpiresAt: expires,
	}
}

func testDelegationTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Stores use the real clock for expiry: tokens expire an hour from now.
	later := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	if _, err := s.DelegationTokenByHash(ctx, sha256.Sum256([]byte("csd_nothing"))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup in an empty store: err = %v, want ErrNotFound", err)
	}
	a1, a2, b1 := sampleToken("a1", "alice", later), sampleToken("a2", "alice", later), sampleToken("b1", "bob", later)
	a2.Access, a2.Grants, a2.Note = "readwrite", []string{"scratch"}, ""
	for _, tok := range []*store.DelegationToken{a1, a2, b1} {
		if err := s.CreateDelegationToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if tok.Created.IsZero() {
			t.Errorf("token %s: Created not set", tok.ID)
		}
	}
	got, err := s.DelegationTokenByHash(ctx, a1.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a1, got); diff != "" {
		t.Errorf("token by hash (-created +got):\n%s", diff)
	}

	// Neither a second token with the same hash nor one with the same id.
	dup := sampleToken("a3", "alice", later)
	dup.Hash = a1.Hash
	if err := s.CreateDelegationToken(ctx, dup); err == nil {
		t.Error("a second token with the same hash was stored")
	}
	dup = sampleToken("a1", "bob", later)
	if err := s.CreateDelegationToken(ctx, dup); err == nil {
		t.Error("a second token with the same id was stored")
	}
	for _, bad := range []*store.DelegationToken{
		{ID: "x", Hash: a1.Hash, Owner: "alice", Access: "read", ExpiresAt: later},                          // no grants
		{ID: "x", Hash: a1.Hash, Owner: "alice", Grants: []string{"g"}, Access: "write", ExpiresAt: later},  // bad access
		{ID: "x", Owner: "alice", Grants: []string{"g"}, Access: "read", ExpiresAt: later},                  // no hash
		{ID: "x", Hash: sha256.Sum256(nil), Owner: "alice", Grants: []string{"g"}, Access: "read"},          // no expiry
		{Hash: sha256.Sum256(nil), Owner: "alice", Grants: []string{"g"}, Access: "read", ExpiresAt: later}, // no id
	} {
		if err := s.CreateDelegationToken(ctx, bad); err == nil {
			t.Errorf("invalid token %+v was stored", bad)
		}
	}

	list, err := s.DelegationTokensOf(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.DelegationToken{*a1, *a2}, list, cmpopts.SortSlices(func(x, y store.DelegationToken) bool { return x.ID < y.ID })); diff != "" {
		t.Errorf("alice's tokens (-want +got):\n%s", diff)
	}
	if list, err := s.DelegationTokensOf(ctx, "nobody"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("tokens of nobody = %v, %v; want an empty list", list, err)
	}

	used := t0.Add(time.Minute)
	if err := s.TouchDelegationToken(ctx, "a1", used); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DelegationTokenByHash(ctx, a1.Hash); err != nil || !got.LastUsed.Equal(used) {
		t.Errorf("after a use: last used %v, %v; want %v", got.LastUsed, err, used)
	}
	if err := s.TouchDelegationToken(ctx, "gone", used); err != nil {
		t.Errorf("touching a missing token: %v", err)
	}

	// Bob cannot delete alice's token by its id.
	if err := s.DeleteDelegationToken(ctx, "bob", "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob deleting alice's token: err = %v, want ErrNotFound", err)
	}
	if _, err := s.DelegationTokenByHash(ctx, a1.Hash); err != nil {
		t.Errorf("alice's token after bob's attempt: %v", err)
	}
	if err := s.DeleteDelegationToken(ctx, "alice", "a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DelegationTokenByHash(ctx, a1.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted token: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteDelegationToken(ctx, "alice", "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: err = %v, want ErrNotFound", err)
	}

	a4 := sampleToken("a4", "alice", later)
	if err := s.CreateDelegationToken(ctx, a4); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteDelegationTokensOf(ctx, "alice"); err != nil || n != 2 {
		t.Errorf("deleting all of alice's: %d, %v; want 2", n, err)
	}
	if list, err := s.DelegationTokensOf(ctx, "alice"); err != nil || len(list) != 0 {
		t.Errorf("alice's tokens after deleting all: %v, %v", list, err)
	}
	if _, err := s.DelegationTokenByHash(ctx, b1.Hash); err != nil {
		t.Errorf("bob's token after deleting alice's: %v", err)
	}

	// An expired token is neither found nor listed.
	old := sampleToken("old", "carol", time.Now().Add(-time.Second))
	if err := s.CreateDelegationToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DelegationTokenByHash(ctx, old.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired token: err = %v, want ErrNotFound", err)
	}
	if list, err := s.DelegationTokensOf(ctx, "carol"); err != nil || len(list) != 0 {
		t.Errorf("carol's (expired) tokens listed: %v, %v", list, err)
	}
}
