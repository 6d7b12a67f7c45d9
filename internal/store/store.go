// Package store keeps cjsm's metadata: organisations, domains, people, mailboxes, lists,
// connectors, the queue, tracking events and the audit trail.
//
// One Store type serves both back ends. SQLite (modernc.org/sqlite, pure Go, WAL mode) is the
// embedded default; PostgreSQL (pgx) is the production store that several nodes share. SQL is
// written once with "?" placeholders and rewritten to "$n" for PostgreSQL. Domain packages call
// the store; the store imports no domain or protocol package.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect is the SQL flavour of a store's back end.
type Dialect int

// The supported back ends.
const (
	SQLite Dialect = iota + 1
	PostgreSQL
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgres"
	}
	return "unknown"
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a row would break a uniqueness rule, such as a second person
// with the same address.
var ErrConflict = errors.New("store: already exists")

// Store is the metadata store of one cjsm node.
type Store struct {
	db      *sql.DB
	dialect Dialect
	dsn     string

	trigramMu  sync.Mutex
	trigramErr error // failure of the last attempt to create the trigram indexes, or nil
}

// Open connects to the store named by dsn and applies pending migrations.
//
// A dsn is either "sqlite:PATH" (or a plain file path), or a PostgreSQL URL
// ("postgres://user@host:port/db?sslmode=disable"). The SQLite file is created when missing.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := OpenNoMigrate(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenNoMigrate connects like Open but leaves the schema as it is, for readiness checks and
// for commands that must not change an older database.
func OpenNoMigrate(ctx context.Context, dsn string) (*Store, error) {
	dialect, driverDSN, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	driver := "sqlite"
	if dialect == PostgreSQL {
		driver = "pgx"
	}
	db, err := sql.Open(driver, driverDSN)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", redactDSN(dsn), err)
	}
	maxConns := 20
	if dialect == SQLite {
		// SQLite allows one writer at a time. Every transaction starts IMMEDIATE (see
		// parseDSN), so writers queue on busy_timeout instead of failing on upgrade.
		maxConns = 8
	}
	db.SetMaxOpenConns(maxConns)
	// Keep every connection open when idle: database/sql keeps only 2 by default, and a new
	// PostgreSQL connection per message cost more CPU than the message itself in the relay
	// benchmark (docs/benchmarks.md).
	db.SetMaxIdleConns(maxConns)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ping(pingCtx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", redactDSN(dsn), err)
	}
	return &Store{db: db, dialect: dialect, dsn: dsn}, nil
}

// ping opens the first connection. SQLite's switch to WAL mode, which runs as the connection
// opens, needs a moment of exclusive access and can fail with SQLITE_BUSY without waiting
// for busy_timeout when another process opens the same new file at once; ping retries that
// until ctx ends.
func ping(ctx context.Context, db *sql.DB) error {
	for {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// parseDSN returns the dialect and the driver's own connection string.
func parseDSN(dsn string) (Dialect, string, error) {
	switch {
	case dsn == "":
		return 0, "", errors.New("store: empty DSN; set store.dsn to sqlite:PATH or a postgres:// URL")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return PostgreSQL, dsn, nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	path = strings.TrimPrefix(path, "//")
	if path == "" {
		return 0, "", fmt.Errorf("store: DSN %q names no file; use sqlite:/path/to/cjsm.db", dsn)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return 0, "", fmt.Errorf("store: create directory for %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the WAL at every commit, so a committed row survives a power loss, not only
	// a process crash; the relay promises that for every message it acknowledged.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	return SQLite, "file:" + path + "?" + q.Encode(), nil
}

// redactDSN hides a password in a PostgreSQL URL so that errors can print the DSN.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close releases the store's connections.
func (s *Store) Close() error { return s.db.Close() }

// Dialect reports which back end the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the underlying database handle, for tests and maintenance commands.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// rebind rewrites "?" placeholders to PostgreSQL's "$n". The SQL in this package never
// contains a literal question mark, so a plain scan is safe.
func (s *Store) rebind(query string) string {
	if s.dialect != PostgreSQL {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Tx is a store transaction. All methods that change data come in Tx form so that a change
// and its audit row commit together.
type Tx struct {
	s  *Store
	tx *sql.Tx
}

// Begin starts a transaction.
func (s *Store) Begin(ctx context.Context) (*Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin transaction: %w", err)
	}
	return &Tx{s: s, tx: tx}, nil
}

// Commit commits the transaction.
func (t *Tx) Commit() error { return t.tx.Commit() }

// Rollback abandons the transaction; it is safe to call after Commit.
func (t *Tx) Rollback() error {
	err := t.tx.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// InTx runs fn in a transaction and commits it when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, t.s.rebind(q), args...)
	return res, t.s.mapErr(err)
}

func (t *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.s.rebind(q), args...)
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.s.rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.rebind(q), args...)
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	return res, s.mapErr(err)
}

// insertID runs an INSERT … RETURNING id and returns the new id.
func (t *Tx) insertID(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := t.queryRow(ctx, q+" RETURNING id", args...).Scan(&id)
	return id, t.s.mapErr(err)
}

// mapErr turns a back end's unique-constraint error into ErrConflict.
func (s *Store) mapErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "duplicate key value") ||
		strings.Contains(msg, "SQLSTATE 23505") {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// micros converts a time to the integer microseconds since the Unix epoch that the schema
// stores; the zero time is stored as 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
