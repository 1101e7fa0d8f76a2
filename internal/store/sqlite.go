package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeout is how long a writer waits for another one (in this process
// or another) before failing with "database is locked". It must exceed the
// longest Update callback: a GitHub token refresh, bounded well below it.
const busyTimeout = 30 * time.Second

// SQLiteConfig configures [OpenSQLite].
type SQLiteConfig struct {
	// Path is the database file; it is created (mode 0600) when missing,
	// but its directory must exist.
	Path string
	// Key is the 32-byte encryption key ([LoadKeyFile]).
	Key []byte
	// Now is the clock for the Created and Updated stamps; nil means
	// time.Now.
	Now func() time.Time
}

// SQLite is the embedded [Store]: one file, WAL journal, transactions that
// take the write lock at BEGIN (so an Update's read and write are atomic
// across processes too). Safe for concurrent use.
type SQLite struct {
	db   *sql.DB
	seal *Sealer
	now  func() time.Time
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating when needed) the database at cfg.Path, runs
// the schema migrations, and checks that cfg.Key is the key the database
// was created with; a different key is ErrWrongKey, so the server refuses
// to start rather than fail on every user later.
func OpenSQLite(ctx context.Context, cfg SQLiteConfig) (*SQLite, error) {
	seal, err := NewSealer(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" || strings.ContainsAny(cfg.Path, "?#") || strings.HasPrefix(cfg.Path, "file:") || cfg.Path == ":memory:" {
		return nil, fmt.Errorf("store: the sqlite dsn must be a file path (without '?', '#' or a file: prefix)")
	}
	// Create the file ourselves so it is private from the start: it holds
	// sealed tokens, and who may read it should not depend on the umask.
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: opening the sqlite file: %w", err)
	}
	f.Close()
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: opening the sqlite file: %w", err)
	}
	s := &SQLite{db: db, seal: seal, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.checkKey(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// migrations are applied in order, each once, each in its own transaction.
// Append only: a released migration never changes.
var migrations = [][]string{
	1: {
		`CREATE TABLE meta (
			name  TEXT PRIMARY KEY,
			value BLOB NOT NULL
		)`,
		`CREATE TABLE github_links (
			provider           TEXT    NOT NULL,
			hub_user           TEXT    NOT NULL,
			github_login       TEXT    NOT NULL,
			github_id          INTEGER NOT NULL,
			access_token       BLOB    NOT NULL, -- sealed
			access_expires_ms  INTEGER,          -- NULL: does not expire
			refresh_token      BLOB,             -- sealed; NULL: none
			refresh_expires_ms INTEGER,
			generation         INTEGER NOT NULL,
			created_ms         INTEGER NOT NULL,
			updated_ms         INTEGER NOT NULL,
			PRIMARY KEY (provider, hub_user)
		)`,
		`CREATE TABLE github_device_logins (
			id               TEXT PRIMARY KEY,
			provider         TEXT    NOT NULL,
			hub_user         TEXT    NOT NULL,
			device_code      BLOB    NOT NULL, -- sealed
			user_code        TEXT    NOT NULL,
			verification_uri TEXT    NOT NULL,
			interval_ms      INTEGER NOT NULL,
			expires_ms       INTEGER NOT NULL,
			next_poll_ms     INTEGER NOT NULL,
			status           TEXT    NOT NULL,
			github_login     TEXT    NOT NULL,
			created_ms       INTEGER NOT NULL
		)`,
		`CREATE INDEX github_device_logins_expires ON github_device_logins (expires_ms)`,
	},
	2: {
		`ALTER TABLE github_links ADD COLUMN account_created_us INTEGER`,
		`ALTER TABLE github_device_logins ADD COLUMN account_created_us INTEGER`,
		endDuplicatePendingLogins,
		createOnePendingIndex,
	},
	3: {
		`CREATE TABLE delegation_tokens (
			id               TEXT    PRIMARY KEY,
			token_sha256     BLOB    NOT NULL UNIQUE, -- the token is never stored
			owner            TEXT    NOT NULL,
			owner_created_ms INTEGER NOT NULL,        -- the hub account's "created"
			grants           TEXT    NOT NULL,        -- JSON array of grant names
			access           TEXT    NOT NULL,
			note             TEXT    NOT NULL,
			expires_ms       INTEGER NOT NULL,
			created_ms       INTEGER NOT NULL,
			last_used_ms     INTEGER
		)`,
		`CREATE INDEX delegation_tokens_owner ON delegation_tokens (owner)`,
	},
}

// SchemaVersion is the version the migrations bring a database to.
var SchemaVersion = len(migrations) - 1

func (s *SQLite) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_ms INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	for v := 1; v < len(migrations); v++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range migrations[v] {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)`, v, s.now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: schema migration %d: %w", v, err)
		}
	}
	var newest int
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("store: schema version: %w", err)
	}
	if newest > SchemaVersion {
		return fmt.Errorf("store: the database has schema version %d, newer than this credserver knows (%d); run a newer credserver", newest, SchemaVersion)
	}
	return nil
}

// keyCheck is sealed into the meta table when the database is created;
// opening it with another key fails here, at start.
const keyCheck = "credserver store key check"

func (s *SQLite) checkKey(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'key_check'`).Scan(&sealed)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ('key_check', ?)`, s.seal.Seal([]byte(keyCheck), "meta", "key_check"))
			return err
		}
		if err != nil {
			return fmt.Errorf("store: reading the key check: %w", err)
		}
		pt, err := s.seal.Open(sealed, "meta", "key_check")
		if err != nil || string(pt) != keyCheck {
			return fmt.Errorf("store: the database was created with a different store.encryption_key_file: %w", ErrWrongKey)
		}
		return nil
	})
}

// inTx runs fn in a transaction (BEGIN IMMEDIATE: the write lock is taken
// at once, so a read in fn cannot go stale before fn's write).
func (s *SQLite) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Ping checks that the database answers.
func (s *SQLite) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: sqlite: %w", err)
	}
	return nil
}

// Close closes the database. Safe to call more than once.
func (s *SQLite) Close() error { return s.db.Close() }

// Time columns are unix milliseconds; NULL (nil) is the zero time.
func msOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// toMS rounds t to what the database keeps, so a record returned from a
// write equals the one read back.
func toMS(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// Account creation times are unix microseconds, the hub's precision; NULL
// (nil) is the zero time: a row written before migration 2, or without a
// hub directory.
func usOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func toUS(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

func fromUS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}
