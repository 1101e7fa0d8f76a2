package peers_test

import (
	"context"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/credserver/credserver/internal/testenv/peers"
)

func TestPostgres(t *testing.T) {
	peers.Require(t, "postgres")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	p, err := peers.StartPostgres(ctx, peers.PostgresOptions{Dir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("postgres log:\n%s", p.LogTail())
		}
	})
	connect := func(t *testing.T, dsn string) (*pgx.Conn, error) {
		t.Helper()
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			t.Cleanup(func() { c.Close(context.Background()) })
		}
		return c, err
	}

	t.Run("serves its database on loopback", func(t *testing.T) {
		c, err := connect(t, p.DSN)
		if err != nil {
			t.Fatal(err)
		}
		var db, addr string
		var version int
		if err := c.QueryRow(ctx, `SELECT current_database(), host(inet_server_addr()), current_setting('server_version_num')::int`).Scan(&db, &addr, &version); err != nil {
			t.Fatal(err)
		}
		if db != p.Database || addr != "127.0.0.1" || version < 150000 {
			t.Errorf("database %q at %s, version %d; want %q at 127.0.0.1, 15 or newer", db, addr, version, p.Database)
		}
	})

	t.Run("runs as the postgres user when root", func(t *testing.T) {
		c, err := connect(t, p.DSN)
		if err != nil {
			t.Fatal(err)
		}
		var dataDir string
		if err := c.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dataDir); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		want := os.Geteuid()
		if want == 0 {
			u, err := user.Lookup("postgres")
			if err != nil {
				t.Fatal(err)
			}
			want, _ = strconv.Atoi(u.Uid)
		}
		if got := int(fi.Sys().(*syscall.Stat_t).Uid); got != want {
			t.Errorf("data directory owned by uid %d, want %d", got, want)
		}
	})

	t.Run("create database", func(t *testing.T) {
		dsn, err := p.CreateDatabase(ctx, "second_db")
		if err != nil {
			t.Fatal(err)
		}
		c, err := connect(t, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var db string
		if err := c.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil || db != "second_db" {
			t.Errorf("current_database() = %q, %v; want second_db", db, err)
		}
		for _, bad := range []string{"", "Upper", "a;DROP", `x"y`} {
			if _, err := p.CreateDatabase(ctx, bad); err == nil {
				t.Errorf("CreateDatabase(%q) succeeded", bad)
			}
		}
	})

	t.Run("wrong password is refused", func(t *testing.T) {
		u, err := url.Parse(p.DSN)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(p.User, "not-the-password")
		if _, err := connect(t, u.String()); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
			t.Errorf("connect with a wrong password: %v", err)
		}
	})

	t.Run("log tail hides the password", func(t *testing.T) {
		if strings.Contains(p.LogTail(), p.Password) {
			t.Error("LogTail contains the password")
		}
	})

	t.Run("stop and start", func(t *testing.T) {
		c, err := connect(t, p.DSN)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')`); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		// A fast shutdown does not wait for the open connection.
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("Stop took %s with a client connected", d)
		}
		if _, err := connect(t, p.DSN); err == nil {
			t.Fatal("connected to a stopped server")
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		c, err = connect(t, p.DSN)
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if err := c.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != "survives" {
			t.Errorf("after restart: %q, %v", v, err)
		}
	})
}
