package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/credserver/credserver/internal/store"
	"github.com/credserver/credserver/internal/testenv/peers"
	"github.com/credserver/credserver/internal/testenv/storetest"
)

// TestPostgres runs everything against one real PostgreSQL server, a fresh
// database per subtest.
func TestPostgres(t *testing.T) {
	peers.Require(t, "postgres")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	pg, err := peers.StartPostgres(ctx, peers.PostgresOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postgres log:\n%s", pg.LogTail())
		}
		pg.Close()
	})
	var dbs atomic.Int64
	freshDB := func(t *testing.T) string {
		t.Helper()
		dsn, err := pg.CreateDatabase(ctx, fmt.Sprintf("test_%d", dbs.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		return dsn
	}
	open := func(t *testing.T, dsn string, key []byte) *store.Postgres {
		t.Helper()
		s, err := store.OpenPostgres(ctx, store.PostgresConfig{DSN: dsn, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	raw := func(t *testing.T, dsn string) *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}

	t.Run("conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, freshDB(t), testKey) })
	})

	// Every call goes to the next of two replicas, each with its own pool:
	// the concurrent-update test then has the replicas race each other.
	t.Run("conformance across two replicas", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			dsn := freshDB(t)
			return &replicas{s: []store.Store{open(t, dsn, testKey), open(t, dsn, testKey)}}
		})
	})

	t.Run("refresh token rotation across replicas", func(t *testing.T) {
		testRotation(t, open, freshDB(t))
	})

	// New logins stored at once by two replicas each count: a caller
	// holding an older generation sees the change.
	t.Run("puts across replicas", func(t *testing.T) {
		dsn := freshDB(t)
		reps := []*store.Postgres{open(t, dsn, testKey), open(t, dsn, testKey)}
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := reps[i%2].PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "alice", AccessToken: fmt.Sprint("ghu_", i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		l, err := reps[0].GitHubLink(ctx, "github", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if l.Generation != n {
			t.Errorf("after %d puts: generation %d, want %d", n, l.Generation, n)
		}
	})

	t.Run("replicas starting together", func(t *testing.T) {
		dsn := freshDB(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				s, err := store.OpenPostgres(ctx, store.PostgresConfig{DSN: dsn, Key: testKey})
				if err == nil {
					s.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent open: %v", err)
			}
		}
		var n int
		if err := raw(t, dsn).QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != store.SchemaVersion {
			t.Errorf("schema_migrations rows = %d, %v; want %d", n, err, store.SchemaVersion)
		}
	})

	t.Run("at rest", func(t *testing.T) {
		dsn := freshDB(t)
		testPostgresAtRest(t, open(t, dsn, testKey), raw(t, dsn))
	})

	t.Run("reopen", func(t *testing.T) {
		dsn := freshDB(t)
		s := open(t, dsn, testKey)
		if err := s.PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "alice", AccessToken: "ghu_kept"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if l, err := open(t, dsn, testKey).GitHubLink(ctx, "github", "alice"); err != nil || l.AccessToken != "ghu_kept" {
			t.Fatalf("after reopen: %v, %v", l, err)
		}
		_, err := store.OpenPostgres(ctx, store.PostgresConfig{DSN: dsn, Key: bytes.Repeat([]byte{1}, 32)})
		if !errors.Is(err, store.ErrWrongKey) {
			t.Fatalf("open with another key: err = %v, want ErrWrongKey", err)
		}
		if _, err := raw(t, dsn).Exec(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES (999, 0)`); err != nil {
			t.Fatal(err)
		}
		_, err = store.OpenPostgres(ctx, store.PostgresConfig{DSN: dsn, Key: testKey})
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("open of a newer schema: err = %v", err)
		}
	})

	t.Run("dsn password never in errors", func(t *testing.T) {
		const pw = "hunter2-Sekrit-pw"
		u, err := url.Parse(pg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		wrong := *u
		wrong.User = url.UserPassword(pg.User, pw)
		host, port, _ := strings.Cut(u.Host, ":")
		tests := []struct{ name, dsn, want string }{
			{"wrong password", wrong.String(), "password authentication failed"},
			{"nobody listening", "postgres://u:" + pw + "@127.0.0.1:1/x?connect_timeout=5", "connect"},
			{"url that does not parse", "postgres://u:" + pw + "@" + host + ":notaport/x", "not a valid connection string"},
			{"key=value that does not parse", "host=" + host + " port=" + port + " password=" + pw + " sslmode=bogus", "not a valid connection string"},
			{"empty", "", "empty"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, err := store.OpenPostgres(ctx, store.PostgresConfig{DSN: tt.dsn, Key: testKey})
				if err == nil {
					s.Close()
					t.Fatal("OpenPostgres succeeded")
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want it to say %q", err, tt.want)
				}
				for e := error(err); e != nil; e = errors.Unwrap(e) {
					if strings.Contains(fmt.Sprintf("%v %+v %#v", e, e, e), pw) {
						t.Fatalf("an error in the chain quotes the password: %v", e)
					}
				}
			})
		}
	})

	t.Run("refuses", func(t *testing.T) {
		for name, cfg := range map[string]store.PostgresConfig{
			"no key":    {DSN: pg.DSN},
			"short key": {DSN: pg.DSN, Key: testKey[:31]},
		} {
			if s, err := store.OpenPostgres(ctx, cfg); err == nil {
				s.Close()
				t.Errorf("%s: OpenPostgres succeeded", name)
			}
		}
	})

	// Last: it restarts the server under the other subtests' feet.
	t.Run("survives a database restart", func(t *testing.T) {
		s := open(t, freshDB(t), testKey)
		if err := s.PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "alice", AccessToken: "ghu_kept"}); err != nil {
			t.Fatal(err)
		}
		if err := pg.Stop(); err != nil {
			t.Fatal(err)
		}
		err := s.Ping(ctx)
		if err == nil {
			t.Error("Ping of a stopped database succeeded")
		} else if strings.Contains(err.Error(), pg.Password) {
			t.Errorf("Ping error quotes the password: %v", err)
		}
		// An outage is ErrUnavailable, for reads and writes alike, and an
		// Update callback never runs against a database it cannot reach.
		called := false
		for name, err := range map[string]error{
			"Ping":          err,
			"GitHubLink":    func() error { _, err := s.GitHubLink(ctx, "github", "alice"); return err }(),
			"PutGitHubLink": s.PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "bob", AccessToken: "ghu_x"}),
			"UpdateGitHubLink": func() error {
				_, err := s.UpdateGitHubLink(ctx, "github", "alice", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
					called = true
					return nil, nil
				})
				return err
			}(),
			"PendingDeviceLogin": func() error { _, err := s.PendingDeviceLogin(ctx, "github", "alice"); return err }(),
		} {
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s with the database down: err = %v, want ErrUnavailable", name, err)
			}
		}
		if called {
			t.Error("an Update callback ran with the database down")
		}
		if err := pg.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// The pool's connections died with the server: the first calls
		// after the restart are retried on fresh ones and succeed.
		before := s.Retries()
		if l, err := s.GitHubLink(ctx, "github", "alice"); err != nil || l.AccessToken != "ghu_kept" {
			t.Errorf("after restart: %v, %v", l, err)
		}
		if _, err := s.UpdateGitHubLink(ctx, "github", "alice", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
			cur.Login = "after-restart"
			return cur, nil
		}); err != nil {
			t.Errorf("update after restart: %v", err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping after restart: %v", err)
		}
		t.Logf("retries on a fresh connection: %d", s.Retries()-before)
		// A callback's own network error is the caller's, not an outage.
		netErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		_, err = s.UpdateGitHubLink(ctx, "github", "alice", func(*store.GitHubLink) (*store.GitHubLink, error) { return nil, netErr })
		if err != netErr {
			t.Errorf("callback error came back as %v, want it unchanged", err)
		}
	})
}

// testRotation has two replicas refresh one link concurrently against a
// GitHub in miniature whose refresh tokens work once: a refresh that read a
// stale token fails, and a rotated token that is not stored is lost.
func testRotation(t *testing.T, open func(*testing.T, string, []byte) *store.Postgres, dsn string) {
	ctx := context.Background()
	reps := []*store.Postgres{open(t, dsn, testKey), open(t, dsn, testKey)}
	gh := &singleUse{valid: map[string]bool{"ghr_0": true}}
	if err := reps[0].PutGitHubLink(ctx, &store.GitHubLink{Provider: "github", User: "alice", AccessToken: "ghu_0", RefreshToken: "ghr_0"}); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				_, err := reps[w%2].UpdateGitHubLink(ctx, "github", "alice", func(cur *store.GitHubLink) (*store.GitHubLink, error) {
					next, err := gh.refresh(cur.RefreshToken)
					if err != nil {
						return nil, err
					}
					time.Sleep(2 * time.Millisecond) // widen the window a lost update needs
					cur.AccessToken, cur.RefreshToken = "ghu_"+next, next
					return cur, nil
				})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a refresh used a stale token: %v", err)
		}
	}
	for i, s := range reps {
		got, err := s.GitHubLink(ctx, "github", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !gh.isValid(got.RefreshToken) || got.Generation != 1+workers*rounds {
			t.Errorf("replica %d: stored refresh token valid %v, generation %d; want true and %d", i, gh.isValid(got.RefreshToken), got.Generation, 1+workers*rounds)
		}
	}
}

// singleUse issues refresh tokens that work once, as GitHub's do.
type singleUse struct {
	mu    sync.Mutex
	valid map[string]bool
	n     int
}

func (g *singleUse) refresh(token string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.valid[token] {
		return "", errors.New("bad_refresh_token")
	}
	delete(g.valid, token)
	g.n++
	next := fmt.Sprintf("ghr_%d", g.n)
	g.valid[next] = true
	return next, nil
}

func (g *singleUse) isValid(token string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.valid[token]
}

// testPostgresAtRest reads the tables with plain SQL: no token or device
// code in clear, and sealed values that do not decrypt in another row.
func testPostgresAtRest(t *testing.T, s *store.Postgres, raw *pgx.Conn) {
	ctx := context.Background()
	secrets := []string{"ghu_ALICEACCESS0123456789", "ghr_ALICEREFRESH0123456789", "ghu_BOBACCESS0123456789", "DEVICECODE0123456789abcdef"}
	for _, l := range []*store.GitHubLink{
		{Provider: "github", User: "alice", Login: "alice-gh", AccessToken: secrets[0], RefreshToken: secrets[1]},
		{Provider: "github", User: "bob", Login: "bob-gh", AccessToken: secrets[2]},
	} {
		if err := s.PutGitHubLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateDeviceLogin(ctx, &store.DeviceLogin{ID: "l1", Provider: "github", User: "alice", DeviceCode: secrets[3], Status: store.LoginPending}); err != nil {
		t.Fatal(err)
	}
	var cells [][]byte
	for _, q := range []string{
		`SELECT access_token FROM github_links`,
		`SELECT refresh_token FROM github_links WHERE refresh_token IS NOT NULL`,
		`SELECT device_code FROM github_device_logins`,
		`SELECT convert_to(t::text, 'UTF8') FROM github_links t`,
		`SELECT convert_to(t::text, 'UTF8') FROM github_device_logins t`,
	} {
		rows, _ := raw.Query(ctx, q)
		col, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil || len(col) == 0 {
			t.Fatalf("%s: %d rows, %v", q, len(col), err)
		}
		cells = append(cells, col...)
	}
	for _, c := range cells {
		for _, sec := range secrets {
			if bytes.Contains(c, []byte(sec)) || bytes.Contains(c, fmt.Appendf(nil, "%x", sec)) {
				t.Errorf("a column holds %.8s... in clear", sec)
			}
		}
	}

	if _, err := raw.Exec(ctx, `UPDATE github_links SET access_token = (SELECT access_token FROM github_links WHERE hub_user = 'alice') WHERE hub_user = 'bob'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GitHubLink(ctx, "github", "bob"); !errors.Is(err, store.ErrTampered) {
		t.Errorf("bob's row holding alice's token: err = %v, want ErrTampered", err)
	}
	if l, err := s.GitHubLink(ctx, "github", "alice"); err != nil || l.AccessToken != secrets[0] {
		t.Errorf("alice's own row: %v", err)
	}
	if _, err := s.DeleteGitHubLink(ctx, "github", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting an undecryptable row: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GitHubLink(ctx, "github", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("undecryptable row not deleted: %v", err)
	}
}

// replicas is a Store that sends each call to the next of several stores.
type replicas struct {
	n atomic.Uint64
	s []store.Store
}

func (r *replicas) next() store.Store { return r.s[r.n.Add(1)%uint64(len(r.s))] }

func (r *replicas) GitHubLink(ctx context.Context, provider, user string) (*store.GitHubLink, error) {
	return r.next().GitHubLink(ctx, provider, user)
}

func (r *replicas) PutGitHubLink(ctx context.Context, l *store.GitHubLink) error {
	return r.next().PutGitHubLink(ctx, l)
}

func (r *replicas) UpdateGitHubLink(ctx context.Context, provider, user string, fn func(*store.GitHubLink) (*store.GitHubLink, error)) (*store.GitHubLink, error) {
	return r.next().UpdateGitHubLink(ctx, provider, user, fn)
}

func (r *replicas) DeleteGitHubLink(ctx context.Context, provider, user string) (*store.GitHubLink, error) {
	return r.next().DeleteGitHubLink(ctx, provider, user)
}

func (r *replicas) CreateDeviceLogin(ctx context.Context, l *store.DeviceLogin) error {
	return r.next().CreateDeviceLogin(ctx, l)
}

func (r *replicas) DeviceLogin(ctx context.Context, id string) (*store.DeviceLogin, error) {
	return r.next().DeviceLogin(ctx, id)
}

func (r *replicas) UpdateDeviceLogin(ctx context.Context, id string, fn func(*store.DeviceLogin) (*store.DeviceLogin, error)) (*store.DeviceLogin, error) {
	return r.next().UpdateDeviceLogin(ctx, id, fn)
}

func (r *replicas) PendingDeviceLogin(ctx context.Context, provider, user string) (*store.DeviceLogin, error) {
	return r.next().PendingDeviceLogin(ctx, provider, user)
}

func (r *replicas) DeleteDeviceLoginsBefore(ctx context.Context, t time.Time) (int, error) {
	return r.next().DeleteDeviceLoginsBefore(ctx, t)
}

func (r *replicas) Ping(ctx context.Context) error { return r.next().Ping(ctx) }

func (r *replicas) Close() error { return errors.Join(r.s[0].Close(), r.s[1].Close()) }

func (r *replicas) CreateDelegationToken(ctx context.Context, t *store.DelegationToken) error {
	return r.next().CreateDelegationToken(ctx, t)
}

func (r *replicas) DelegationTokenByHash(ctx context.Context, hash [sha256.Size]byte) (*store.DelegationToken, error) {
	return r.next().DelegationTokenByHash(ctx, hash)
}

func (r *replicas) DelegationTokensOf(ctx context.Context, owner string) ([]store.DelegationToken, error) {
	return r.next().DelegationTokensOf(ctx, owner)
}

func (r *replicas) DeleteDelegationToken(ctx context.Context, owner, id string) error {
	return r.next().DeleteDelegationToken(ctx, owner, id)
}

func (r *replicas) DeleteDelegationTokensOf(ctx context.Context, owner string) (int, error) {
	return r.next().DeleteDelegationTokensOf(ctx, owner)
}

func (r *replicas) TouchDelegationToken(ctx context.Context, id string, t time.Time) error {
	return r.next().TouchDelegationToken(ctx, id, t)
}
