package peers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	// Dir holds the server's log (postgres.log). Required; the caller owns
	// it. The cluster itself (data and socket directories) lives in a
	// private directory under os.TempDir that Close removes: as root the
	// server runs as the postgres user, who cannot enter a test's 0700
	// temp dir.
	Dir string
	// Logf receives progress lines (never secrets); nil discards them.
	Logf func(format string, args ...any)
}

// Postgres is a running throwaway PostgreSQL cluster from Debian's
// postgresql package, listening on 127.0.0.1 only, with password
// (scram-sha-256) authentication. Its fields are fixed across Stop and
// Start. Methods are safe for concurrent use.
type Postgres struct {
	// DSN is a postgres:// URL for Database as User, password included.
	DSN string
	// Addr is 127.0.0.1:PORT.
	Addr string
	// User is the cluster's superuser ("credserver"); Password is random
	// per StartPostgres.
	User, Password string
	// Database is the database created at start ("credserver").
	Database string
	// Dir is PostgresOptions.Dir.
	Dir string

	cluster string // private: data/ and sock/
	logf    func(format string, args ...any)
	proc    *process
	mu      sync.Mutex
	closed  bool
}

// StartPostgres creates a cluster with initdb, starts it on a free loopback
// port, creates Database and returns once it accepts connections. As root,
// initdb and postgres run as the postgres user (both refuse root) through
// setpriv, which execs, so the server is still our child and its process
// group leader. The caller must Close it. On failure nothing is left
// running and the error includes the tail of the server's log.
func StartPostgres(ctx context.Context, o PostgresOptions) (_ *Postgres, err error) {
	if o.Dir == "" {
		return nil, errors.New("peers: PostgresOptions.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("peers: postgres dir: %w", err)
	}
	bin, err := Bin("postgres")
	if err != nil {
		return nil, err
	}
	p := &Postgres{User: "credserver", Password: randomHex(16), Database: "credserver", Dir: dir, logf: o.Logf}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	var owner *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("peers: running as root, the server must run as the postgres user (install Debian postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		owner = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if p.cluster, err = os.MkdirTemp("", "credserver-postgres-"); err != nil {
		return nil, fmt.Errorf("peers: postgres cluster dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(p.cluster)
		}
	}()
	if err := p.initdb(ctx, filepath.Join(filepath.Dir(bin), "initdb"), owner); err != nil {
		return nil, err
	}
	path, args := asOwner(owner, bin, "--pdeathsig=SIGINT")
	p.proc = &process{
		name:    "postgres",
		path:    path,
		dir:     p.cluster,
		env:     peerEnv([]string{"PG*"}, "LC_ALL=C"),
		logPath: filepath.Join(dir, "postgres.log"),
		secrets: []string{p.Password},
	}
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		p.Addr = "127.0.0.1:" + strconv.Itoa(port)
		p.proc.args = append(slices.Clone(args), "-D", filepath.Join(p.cluster, "data"), "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+filepath.Join(p.cluster, "sock"),
			// A throwaway cluster: durability against an OS crash is not
			// worth the test time.
			"-c", "fsync=off", "-c", "full_page_writes=off")
		err = p.Start(ctx)
		if err == nil {
			break
		}
		if attempt < 3 && errors.Is(err, errExited) && p.proc.addrInUse() {
			p.logf("postgres: the port was taken, retrying with a new one")
			continue
		}
		return nil, err
	}
	if p.DSN, err = p.CreateDatabase(ctx, p.Database); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// initdb creates the cluster in p.cluster/data, owned by owner when set.
func (p *Postgres) initdb(ctx context.Context, initdb string, owner *syscall.Credential) error {
	pwfile := filepath.Join(p.cluster, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("peers: postgres password file: %w", err)
	}
	defer os.Remove(pwfile)
	if err := os.Mkdir(filepath.Join(p.cluster, "sock"), 0o700); err != nil {
		return fmt.Errorf("peers: postgres socket dir: %w", err)
	}
	if owner != nil {
		for _, f := range []string{p.cluster, pwfile, filepath.Join(p.cluster, "sock")} {
			if err := os.Chown(f, int(owner.Uid), int(owner.Gid)); err != nil {
				return fmt.Errorf("peers: postgres cluster dir: %w", err)
			}
		}
	}
	path, args := asOwner(owner, initdb)
	args = append(args, "-D", filepath.Join(p.cluster, "data"), "-U", p.User, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = p.cluster
	cmd.Env = peerEnv([]string{"PG*"}, "LC_ALL=C")
	begin := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("peers: initdb: %w\n%s", err, out)
	}
	p.logf("postgres: initdb took %s", time.Since(begin).Round(time.Millisecond))
	return nil
}

// asOwner returns the command line that runs bin as owner (through setpriv,
// which execs bin), or bin itself when owner is nil.
func asOwner(owner *syscall.Credential, bin string, setprivFlags ...string) (string, []string) {
	if owner == nil {
		return bin, nil
	}
	args := []string{"--reuid=" + strconv.Itoa(int(owner.Uid)), "--regid=" + strconv.Itoa(int(owner.Gid)), "--init-groups"}
	return "/usr/bin/setpriv", append(append(args, setprivFlags...), "--", bin)
}

// Start starts a stopped server again on the same port with the same data
// and password, and waits until it accepts connections.
func (p *Postgres) Start(ctx context.Context) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return errors.New("peers: postgres is closed")
	}
	took, err := p.proc.launch(ctx, p.waitReady, p.Stop)
	if err != nil {
		return err
	}
	p.logf("postgres: ready at %s after %s", p.Addr, took)
	return nil
}

// waitReady connects until the server answers, it exits, or ctx ends. Until
// recovery is over it refuses with "the database system is starting up".
func (p *Postgres) waitReady(ctx context.Context) error {
	exited := p.proc.exited()
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(attempt, p.dsnFor("postgres"))
		if err == nil {
			err = conn.Ping(attempt)
			conn.Close(attempt)
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("peers: postgres: %w before it was ready", errExited)
		case <-ctx.Done():
			return fmt.Errorf("peers: postgres not ready (last: %v): %w", last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dbName is what CreateDatabase accepts: a plain identifier, no quoting.
var dbName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates an empty database (name: lower-case letters,
// digits and '_') owned by User and returns its DSN.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) (string, error) {
	if !dbName.MatchString(name) {
		return "", fmt.Errorf("peers: postgres database name %q: use [a-z_][a-z0-9_]*", name)
	}
	conn, err := pgx.Connect(ctx, p.dsnFor("postgres"))
	if err != nil {
		return "", fmt.Errorf("peers: postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("peers: postgres create database %s: %w", name, err)
	}
	return p.dsnFor(name), nil
}

// dsnFor is the URL of database db as User. TLS is off: the server listens
// on loopback only.
func (p *Postgres) dsnFor(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(p.User, p.Password), Host: p.Addr, Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Stop shuts the server down (a fast shutdown: clients are disconnected,
// data is kept) for Start. Stopping a stopped server is a no-op.
func (p *Postgres) Stop() error {
	p.proc.mu.Lock()
	cmd, done := p.proc.cmd, p.proc.done
	p.proc.mu.Unlock()
	if cmd != nil {
		// SIGINT to the postmaster is a fast shutdown; the SIGTERM that
		// process.stop sends would wait for every client to disconnect.
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(stopGrace):
		}
	}
	return p.proc.stop()
}

// Close stops the server for good and removes the cluster. It is
// idempotent; Dir is left for its owner.
func (p *Postgres) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.Stop()
	if rmErr := os.RemoveAll(p.cluster); rmErr != nil && err == nil {
		err = fmt.Errorf("peers: postgres cluster dir: %w", rmErr)
	}
	return err
}

// LogTail returns the last lines of the server's log, password redacted.
func (p *Postgres) LogTail() string {
	return p.proc.logTail()
}

// postgresBinDirs lists, newest version first, Debian's
// /usr/lib/postgresql/VERSION/bin directories, which hold the server
// programs (postgres, initdb, pg_ctl) that Debian keeps out of PATH.
func postgresBinDirs(name string) []string {
	if name != "postgres" && name != "initdb" && name != "pg_ctl" {
		return nil
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(dir), 64) // 9.6 < 10 < 15
		return v
	}
	slices.SortFunc(versions, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	dirs := make([]string, 0, len(versions))
	for _, v := range versions {
		dirs = append(dirs, filepath.Join(v, "bin"))
	}
	return dirs
}

// ConfigDSN returns what credserver's config takes for this database: a
// DSN without the password (the config refuses one inside store.dsn) and
// the path of a file holding the password, written under dir, for
// store.password_file.
func (p *Postgres) ConfigDSN(dir string) (dsn, passwordFile string, err error) {
	u, err := url.Parse(p.DSN)
	if err != nil {
		return "", "", err
	}
	u.User = url.User(p.User)
	passwordFile = filepath.Join(dir, "postgres-password")
	if err := os.WriteFile(passwordFile, []byte(p.Password+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return u.String(), passwordFile, nil
}
