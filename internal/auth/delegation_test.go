package auth

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credserver/credserver/internal/store"
)

// fakeDirectory is a hub's user list; every Account call is counted.
type fakeDirectory struct {
	mu    sync.Mutex
	users map[string]Account
	err   error
	calls atomic.Int64
}

func (f *fakeDirectory) Account(_ context.Context, name string) (Account, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Account{}, f.err
	}
	a, ok := f.users[name]
	if !ok {
		return Account{}, ErrNoSuchUser
	}
	return a, nil
}

func (f *fakeDirectory) set(a Account) {
	f.mu.Lock()
	f.users[a.Name] = a
	f.mu.Unlock()
}

func (f *fakeDirectory) remove(name string) {
	f.mu.Lock()
	delete(f.users, name)
	f.mu.Unlock()
}

// countingStore counts token lookups and can fail them.
type countingStore struct {
	*store.SQLite
	lookups atomic.Int64
	fail    atomic.Bool
}

func (c *countingStore) DelegationTokenByHash(ctx context.Context, h [32]byte) (*store.DelegationToken, error) {
	c.lookups.Add(1)
	if c.fail.Load() {
		return nil, errors.New("database is locked")
	}
	return c.SQLite.DelegationTokenByHash(ctx, h)
}

type delegEnv struct {
	st    *countingStore
	dir   *fakeDirectory
	clock *fakeClock
	d     *Delegations
}

var aliceCreated = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func newDelegEnv(t *testing.T) *delegEnv {
	t.Helper()
	sq, err := store.OpenSQLite(context.Background(), store.SQLiteConfig{Path: filepath.Join(t.TempDir(), "db"), Key: bytes.Repeat([]byte{7}, store.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	e := &delegEnv{st: &countingStore{SQLite: sq}, clock: &fakeClock{now: time.Now()},
		dir: &fakeDirectory{users: map[string]Account{"alice": {Name: "alice", Groups: []string{"staff"}, Created: aliceCreated}}}}
	e.d, err = NewDelegations(DelegationConfig{Tokens: e.st, Directory: e.dir, CacheTTL: time.Minute, NegativeTTL: 10 * time.Second, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mint stores a new token of alice's for grant scratch, read only.
func (e *delegEnv) mint(t *testing.T, id string) string {
	t.Helper()
	tok, hash := NewDelegationToken()
	err := e.st.CreateDelegationToken(context.Background(), &store.DelegationToken{
		ID: id, Hash: hash, Owner: "alice", OwnerCreated: aliceCreated,
		Grants: []string{"scratch"}, Access: "read", ExpiresAt: time.Now().Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestDelegationAuthenticate(t *testing.T) {
	e := newDelegEnv(t)
	ctx := context.Background()
	tok := e.mint(t, "t1")
	id, err := e.d.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "alice" || len(id.Groups) != 1 || id.Groups[0] != "staff" || id.Delegation == nil ||
		id.Delegation.ID != "t1" || id.Delegation.Access != "read" || len(id.Delegation.Grants) != 1 {
		t.Fatalf("identity = %+v (delegation %+v)", id, id.Delegation)
	}
	// The owner's groups are read every time: a group removed at the hub
	// is gone from the next identity, with the record still cached.
	e.dir.set(Account{Name: "alice", Created: aliceCreated})
	if id, err = e.d.Authenticate(ctx, tok); err != nil || len(id.Groups) != 0 {
		t.Errorf("after group removal: %+v, %v; want no groups", id, err)
	}
	if n := e.st.lookups.Load(); n != 1 {
		t.Errorf("store lookups = %d, want 1 (cached)", n)
	}
	if !e.d.Known(tok) {
		t.Error("a cached token is not Known")
	}
}

func TestDelegationDeadTokens(t *testing.T) {
	ctx := context.Background()
	t.Run("revoked on another replica: refused after the cache TTL", func(t *testing.T) {
		e := newDelegEnv(t)
		tok := e.mint(t, "t1")
		if _, err := e.d.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := e.st.DeleteDelegationToken(ctx, "alice", "t1"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("revoked token after the TTL: err = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("revoked here: refused at once", func(t *testing.T) {
		e := newDelegEnv(t)
		tok := e.mint(t, "t1")
		if _, err := e.d.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := e.st.DeleteDelegationToken(ctx, "alice", "t1"); err != nil {
			t.Fatal(err)
		}
		e.d.ForgetID("t1")
		if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("revoked token: err = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("owner deleted", func(t *testing.T) {
		e := newDelegEnv(t)
		tok := e.mint(t, "t1")
		e.dir.remove("alice")
		if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("err = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("owner re-created under the same name", func(t *testing.T) {
		e := newDelegEnv(t)
		tok := e.mint(t, "t1")
		e.dir.set(Account{Name: "alice", Groups: []string{"staff"}, Created: aliceCreated.Add(time.Second)})
		if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("err = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("expired while cached", func(t *testing.T) {
		e := newDelegEnv(t)
		tok := e.mint(t, "t1")
		if _, err := e.d.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(24*time.Hour + time.Second)
		if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("err = %v, want ErrInvalidToken", err)
		}
	})
	t.Run("unknown and malformed", func(t *testing.T) {
		e := newDelegEnv(t)
		unknown, _ := NewDelegationToken()
		for _, tok := range []string{unknown, "csd_short", unknown + "x"} {
			if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("err = %v, want ErrInvalidToken", err)
			}
		}
		if n := e.st.lookups.Load(); n != 1 {
			t.Errorf("store lookups = %d; want 1 (malformed ones never reach the store)", n)
		}
	})
	t.Run("store trouble is not cached", func(t *testing.T) {
		e := newDelegEnv(t)
		tok := e.mint(t, "t1")
		e.st.fail.Store(true)
		if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrStoreUnavailable) {
			t.Errorf("err = %v, want ErrStoreUnavailable", err)
		}
		e.st.fail.Store(false)
		if _, err := e.d.Authenticate(ctx, tok); err != nil {
			t.Errorf("after the store recovered: %v", err)
		}
	})
	t.Run("hub trouble passes through", func(t *testing.T) {
		e := newDelegEnv(t)
		tok := e.mint(t, "t1")
		e.dir.err = ErrHubUnavailable
		if _, err := e.d.Authenticate(ctx, tok); !errors.Is(err, ErrHubUnavailable) {
			t.Errorf("err = %v, want ErrHubUnavailable", err)
		}
	})
}

func TestDelegationCoalesced(t *testing.T) {
	e := newDelegEnv(t)
	tok := e.mint(t, "t1")
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 1000 {
		wg.Go(func() {
			if _, err := e.d.Authenticate(context.Background(), tok); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || e.st.lookups.Load() != 1 {
		t.Errorf("1000 concurrent: %d failed, %d store lookups; want 0 and 1", failed.Load(), e.st.lookups.Load())
	}
}

// hubNever fails the test if a token reaches the hub.
type hubNever struct{ t *testing.T }

func (h hubNever) Authenticate(context.Context, string) (Identity, error) {
	h.t.Error("a delegation token was sent to the hub")
	return Identity{}, ErrInvalidToken
}

func TestEitherNeverSendsDelegationTokensToTheHub(t *testing.T) {
	e := newDelegEnv(t)
	tok := e.mint(t, "t1")
	if id, err := (Either{Hub: hubNever{t}, Delegations: e.d}).Authenticate(context.Background(), tok); err != nil || id.Delegation == nil {
		t.Errorf("= %+v, %v", id, err)
	}
	if _, err := (Either{Hub: hubNever{t}}).Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("delegation off: err = %v, want ErrInvalidToken", err)
	}
}
