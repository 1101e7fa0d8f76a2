package config_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/credserver/credserver/internal/config"
)

// storeConfig is a whole config whose store section is driver postgres
// with the given dsn (on line 4) and extra store keys.
func storeConfig(dsn, extra string) string {
	return "hub: {api_url: 'http://127.0.0.1:8081/hub/api'}\n" +
		"store:\n" +
		"  driver: postgres\n" +
		"  dsn: '" + strings.ReplaceAll(dsn, "'", "''") + "'\n" + extra
}

// TestDSNPassword: a password inside store.dsn, in any form libpq reads,
// is a load error on the dsn's line that names the key and never quotes
// the password; DSNs without one load.
func TestDSNPassword(t *testing.T) {
	const secret = "hunter2"
	refused := []struct{ name, dsn, where string }{
		{"url user:password", "postgres://credserver:hunter2@db:5432/credserver?sslmode=require", "user:password@"},
		{"postgresql scheme", "postgresql://credserver:hunter2@db/credserver", "user:password@"},
		{"upper-case scheme", "POSTGRES://u:hunter2@db/x", "user:password@"},
		{"password with a slash", "postgres://u:hun/ter2hunter2@db/x", "user:password@"},
		{"password with an @", "postgres://u:a@hunter2@db/x", "user:password@"},
		{"several hosts", "postgres://u:hunter2@db1:5432,db2:5432/x", "user:password@"},
		{"empty password", "postgres://u:@db/x", "user:password@"},
		{"query parameter", "postgres://u@db/x?sslmode=require&password=hunter2", "password query parameter"},
		{"encoded query key", "postgres://u@db/x?pass%77ord=hunter2", "password query parameter"},
		{"keyword form", "host=db user=u password=hunter2 dbname=x", "password key"},
		{"keyword first", "password=hunter2 host=db", "password key"},
		{"spaces around =", "host=db password = hunter2", "password key"},
		{"quoted", "host=db password='hunter2 with spaces' dbname=x", "password key"},
		{"upper-case key", "host=db PASSWORD=hunter2", "password key"},
		{"after a quoted value", `host=db application_name='it\'s x' password=hunter2`, "password key"},
		{"malformed", "host=db hunter2 password hunter2", "password key"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(storeConfig(tt.dsn, "")))
			if err == nil {
				t.Fatal("Parse accepted a DSN holding a password")
			}
			got := problems(t, err)
			if len(got) != 1 || got[0].Line != 4 || !strings.Contains(got[0].Msg, "store.dsn holds a password") ||
				!strings.Contains(got[0].Msg, tt.where) || !strings.Contains(got[0].Msg, "store.password_file") {
				t.Errorf("got %q, want one problem on line 4 naming store.dsn, %q and store.password_file", got, tt.where)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "@db") {
				t.Errorf("the error quotes the DSN: %v", err)
			}
		})
	}
	accepted := []string{
		"postgres://credserver@db:5432/credserver?sslmode=require",
		"postgres://db/credserver",
		"postgres://u@db/x?passfile=/etc/credserver/pgpass",
		"host=db user=credserver dbname=credserver sslmode=require",
		"host=db dbname=password",
		"host=db application_name='password=x'",
		"host=/var/run/postgresql dbname=credserver",
	}
	for _, dsn := range accepted {
		t.Run(dsn, func(t *testing.T) {
			if _, err := config.Parse([]byte(storeConfig(dsn, "  password_file: /etc/credserver/db-password\n"))); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}

// TestPasswordFileKey: password_file is for postgres only and must be a
// path.
func TestPasswordFileKey(t *testing.T) {
	in := "hub: {api_url: 'http://127.0.0.1:8081/hub/api'}\nstore:\n  dsn: /var/lib/credserver.db\n  password_file: /etc/pw\n"
	_, err := config.Parse([]byte(in))
	if got := problems(t, err); len(got) != 1 || got[0].Line != 4 || !strings.Contains(got[0].Msg, "store.password_file applies only to driver postgres") {
		t.Errorf("sqlite with password_file: %q", got)
	}
	_, err = config.Parse([]byte(storeConfig("postgres://u@db/x", "  password_file: \"/etc/p\\nw\"\n")))
	if got := problems(t, err); len(got) != 1 || got[0].Line != 5 || !strings.Contains(got[0].Msg, "must be a file path") {
		t.Errorf("password_file with a newline: %q", got)
	}
}

// FuzzDSNPassword checks the DSN check against pgx itself: whenever
// config accepts a postgres DSN, pgx parses no password out of it (with
// PGPASSWORD and every passfile out of the way), and the error for one it
// refuses never quotes the DSN.
func FuzzDSNPassword(f *testing.F) {
	for _, s := range []string{
		"postgres://u:p@h/d", "postgres://u@h/d?password=p", "host=h password=p", "host=h password='a b'",
		"postgres://u@h/d", "host=h dbname=x", "host=h x='password=p'", `host=h x='\' password=p'`,
		"postgresql://u@h,h2/d?sslmode=disable", "password=", "host='h' \t password\t=\tp",
	} {
		f.Add(s)
	}
	f.Setenv("PGPASSWORD", "")
	f.Setenv("PGPASSFILE", "/nonexistent/pgpass")
	f.Setenv("PGSERVICEFILE", "/nonexistent/pg_service.conf")
	f.Setenv("HOME", "/nonexistent")
	_, ref := config.Parse([]byte(storeConfig("password=x", "")))
	if ref == nil {
		f.Fatal("a DSN with a password was accepted")
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		if strings.ContainsAny(dsn, "\x00\n\r") || strings.TrimSpace(dsn) == "" {
			return // cannot sit in a one-line YAML string, or is "required"
		}
		cfg, err := config.Parse([]byte(storeConfig(dsn, "")))
		if err != nil {
			if len(dsn) >= 8 && strings.Contains(err.Error(), dsn) && !strings.Contains(ref.Error(), dsn) {
				t.Fatalf("the error quotes the DSN: %v", err)
			}
			return
		}
		pc, err := pgconn.ParseConfig(cfg.Store.DSN)
		if err == nil && pc.Password != "" {
			t.Fatalf("config accepted %q, from which pgx reads a password", dsn)
		}
	})
}
