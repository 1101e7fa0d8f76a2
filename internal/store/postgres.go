package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresConfig configures [OpenPostgres].
type PostgresConfig struct {
	// DSN is a postgres:// URL or a key=value connection string, as libpq
	// reads them (pgx's extensions too: pool_max_conns,
	// default_query_exec_mode=simple_protocol behind PgBouncer). It may
	// hold a password: it never appears in an error. The password may also
	// come from PGPASSWORD or a passfile instead. The tables are created in
	// the first schema of the search_path, so give credserver a database
	// (or a schema, with search_path=...) of its own.
	DSN string
	// Password, when not empty, is the password for every host of the DSN
	// ([LoadPasswordFile] reads one from a file); it wins over one in the
	// DSN, PGPASSWORD and a passfile. It never appears in an error.
	Password string
	// Key is the 32-byte encryption key ([LoadKeyFile]).
	Key []byte
	// Now is the clock for the Created and Updated stamps; nil means
	// time.Now.
	Now func() time.Time
	// MaxConns bounds the connection pool; 0 means pgxpool's default
	// (pool_max_conns in the DSN, else 4 or the number of CPUs).
	MaxConns int32
}

// Postgres is the [Store] for several replicas sharing one PostgreSQL
// database. Every read-modify-write runs in a transaction that holds the
// row with SELECT ... FOR UPDATE, so an Update in one replica waits for an
// Update of the same record in another, and a single-use refresh token is
// never used twice. Safe for concurrent use.
type Postgres struct {
	pool *pgxpool.Pool
	seal *Sealer
	now  func() time.Time
	// secrets are the DSN's passwords, cut out of the errors that could
	// quote them.
	secrets []string
	retries atomic.Uint64
}

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to the database, runs the schema migrations (one
// replica at a time: they hold an advisory lock) and checks that cfg.Key
// is the key the database was created with; a different key is
// ErrWrongKey, so the server refuses to start rather than fail on every
// user later.
func OpenPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	seal, err := NewSealer(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.DSN == "" {
		return nil, errors.New("store: the postgres dsn is empty")
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx redacts passwords from parse errors only on a best-effort
		// basis, and a string that does not parse is where it may miss one.
		return nil, errors.New("store: the postgres dsn is not a valid connection string (a postgres:// URL or key=value pairs; not quoted here, as it may hold a password)")
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	s := &Postgres{seal: seal, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Password != "" {
		pc.ConnConfig.Password = cfg.Password // fallback hosts share it
	}
	if pw := pc.ConnConfig.Password; pw != "" { // fallback hosts share it
		s.secrets = append(s.secrets, pw)
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, s.redact(fmt.Errorf("store: postgres: %w", err))
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, s.redact(err)
	}
	return s, nil
}

// redact cuts the DSN's passwords out of err's text. An error that quotes
// one loses its chain: errors.Unwrap would hand the password back.
func (s *Postgres) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, pw := range s.secrets {
		msg = strings.ReplaceAll(msg, pw, "[redacted]")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// postgresMigrations are the SQLite store's migrations in PostgreSQL's
// dialect: the same versions, tables, columns and meaning. Append only.
var postgresMigrations = [][]string{
	1: {
		`CREATE TABLE meta (
			name  TEXT PRIMARY KEY,
			value BYTEA NOT NULL
		)`,
		`CREATE TABLE github_links (
			provider           TEXT   NOT NULL,
			hub_user           TEXT   NOT NULL,
			github_login       TEXT   NOT NULL,
			github_id          BIGINT NOT NULL,
			access_token       BYTEA  NOT NULL, -- sealed
			access_expires_ms  BIGINT,          -- NULL: does not expire
			refresh_token      BYTEA,           -- sealed; NULL: none
			refresh_expires_ms BIGINT,
			generation         BIGINT NOT NULL,
			created_ms         BIGINT NOT NULL,
			updated_ms         BIGINT NOT NULL,
			PRIMARY KEY (provider, hub_user)
		)`,
		`CREATE TABLE github_device_logins (
			id               TEXT PRIMARY KEY,
			provider         TEXT   NOT NULL,
			hub_user         TEXT   NOT NULL,
			device_code      BYTEA  NOT NULL, -- sealed
			user_code        TEXT   NOT NULL,
			verification_uri TEXT   NOT NULL,
			interval_ms      BIGINT NOT NULL,
			expires_ms       BIGINT NOT NULL,
			next_poll_ms     BIGINT NOT NULL,
			status           TEXT   NOT NULL,
			github_login     TEXT   NOT NULL,
			created_ms       BIGINT NOT NULL
		)`,
		`CREATE INDEX github_device_logins_expires ON github_device_logins (expires_ms)`,
	},
	2: {
		`ALTER TABLE github_links ADD COLUMN account_created_us BIGINT`,
		`ALTER TABLE github_device_logins ADD COLUMN account_created_us BIGINT`,
		endDuplicatePendingLogins,
		createOnePendingIndex,
	},
	3: {
		`CREATE TABLE delegation_tokens (
			id               TEXT    PRIMARY KEY,
			token_sha256     BYTEA   NOT NULL UNIQUE, -- the token is never stored
			owner            TEXT    NOT NULL,
			owner_created_ms BIGINT  NOT NULL,        -- the hub account's "created"
			grants           TEXT    NOT NULL,        -- JSON array of grant names
			access           TEXT    NOT NULL,
			note             TEXT    NOT NULL,
			expires_ms       BIGINT  NOT NULL,
			created_ms       BIGINT  NOT NULL,
			last_used_ms     BIGINT
		)`,
		`CREATE INDEX delegation_tokens_owner ON delegation_tokens (owner)`,
	},
}

// migrationLock is the advisory lock replicas take in turn to migrate
// ("credserv" in ASCII).
const migrationLock int64 = 0x6372656473657276

// migrate applies the missing migrations and checks the key, all in one
// transaction (PostgreSQL's DDL is transactional): a replica sees the
// schema either as it was or fully migrated.
func (s *Postgres) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("store: postgres: migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_ms BIGINT NOT NULL
		)`); err != nil {
			return fmt.Errorf("store: postgres: migrations table: %w", err)
		}
		var newest int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
			return fmt.Errorf("store: postgres: schema version: %w", err)
		}
		if last := len(postgresMigrations) - 1; newest > last {
			return fmt.Errorf("store: the database has schema version %d, newer than this credserver knows (%d); run a newer credserver", newest, last)
		}
		for v := newest + 1; v < len(postgresMigrations); v++ {
			for _, stmt := range postgresMigrations[v] {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("store: postgres: schema migration %d: %w", v, err)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)`, v, s.now().UnixMilli()); err != nil {
				return fmt.Errorf("store: postgres: schema migration %d: %w", v, err)
			}
		}
		return s.checkKey(ctx, tx)
	})
}

// checkKey seals keyCheck into meta in a new database, and opens it in an
// existing one.
func (s *Postgres) checkKey(ctx context.Context, tx pgx.Tx) error {
	var sealed []byte
	err := tx.QueryRow(ctx, `SELECT value FROM meta WHERE name = 'key_check'`).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err = tx.Exec(ctx, `INSERT INTO meta (name, value) VALUES ('key_check', $1)`, s.seal.Seal([]byte(keyCheck), "meta", "key_check"))
		if err != nil {
			return fmt.Errorf("store: postgres: writing the key check: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: postgres: reading the key check: %w", err)
	}
	pt, err := s.seal.Open(sealed, "meta", "key_check")
	if err != nil || string(pt) != keyCheck {
		return fmt.Errorf("store: the database was created with a different store.encryption_key_file: %w", ErrWrongKey)
	}
	return nil
}

// txSettings bound how long a transaction waits for a row another one
// holds (like SQLite's busy timeout) and how long a transaction may sit
// idle, so a replica that hangs or loses its network inside an Update
// does not hold the row for good.
var txSettings = fmt.Sprintf(`SET LOCAL lock_timeout = %d; SET LOCAL idle_in_transaction_session_timeout = %d`,
	busyTimeout.Milliseconds(), 2*busyTimeout.Milliseconds())

// inTx runs fn in a transaction; fn's error is returned as it is.
func (s *Postgres) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: postgres: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	if _, err := tx.Exec(ctx, txSettings); err != nil {
		return fmt.Errorf("store: postgres: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: postgres: commit: %w", err)
	}
	return nil
}

// Ping checks that the database answers; an unreachable database is
// ErrUnavailable. It is retried once on a fresh connection, like a read.
func (s *Postgres) Ping(ctx context.Context) error {
	return s.withRetry(ctx, retryRead, func() (bool, error) {
		if err := s.pool.Ping(ctx); err != nil {
			return false, fmt.Errorf("store: postgres: %w", err)
		}
		return false, nil
	})
}

// Close closes the pool, waiting for connections in use to be returned.
// Safe to call more than once.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}
