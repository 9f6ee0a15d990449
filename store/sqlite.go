package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

// sqliteTimeLayout is the fixed-width UTC form in which SQLite timestamps are
// stored; it sorts lexically in time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// sqliteReaders is the size of the read connection pool of a file database.
const sqliteReaders = 4

// sqlite is the SQLite dialect: timestamps are TEXT in sqliteTimeLayout and lists JSON
// arrays.
var sqlite = dialect{
	name:  "sqlite",
	title: "SQLite",
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at TEXT    NOT NULL
)`,
	hasApplication: "EXISTS (SELECT 1 FROM json_each(applications) WHERE json_each.value = %s)",
	noLimit:        "-1",
	greatest:       "max",
	arg: func(v any) any {
		switch v := v.(type) {
		case time.Time:
			return sqliteTime(v)
		case []string:
			if v == nil {
				return "[]"
			}
			b, _ := json.Marshal(v) // a []string always marshals
			return string(b)
		}
		return v
	},
	isUniqueViolation: func(err error) bool {
		var se *sqlite3.Error
		if !errors.As(err, &se) {
			return false
		}
		return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE
	},
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// applies pending migrations. The parent directory is created if missing.
// The database runs in WAL mode with busy_timeout 5000 and foreign keys on.
// All writes go through a pool of exactly one connection whose transactions
// begin IMMEDIATE, so writers never deadlock; reads use a separate pool (WAL
// lets them run next to the writer). The path ":memory:" opens a private
// in-memory database that lives until Close, on one connection for both.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("store: SQLite path %q: query parameters are not supported", path)
	}
	const common = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	if path == ":memory:" {
		// A named shared-cache database, so that a connection reopened by
		// database/sql would still see the data; one connection is enough.
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		db, err := sql.Open("sqlite", "file:vigil-"+hex.EncodeToString(b[:])+"?mode=memory&cache=shared&"+common)
		if err != nil {
			return nil, fmt.Errorf("store: open SQLite: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return newSQLStore(ctx, sqlite, db, db, "open SQLite "+path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for SQLite database: %w", err)
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	// modernc.org/sqlite strips the query from a DSN that is not a
	// file: URI and opens the remainder as a plain file name.
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s, err := newSQLStore(ctx, sqlite, w, w, "open SQLite "+path)
	if err != nil {
		return nil, err
	}
	// The readers are opened once the writer has set WAL mode and the schema is in place.
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	return s, nil
}

// ownerOnly creates the database file readable and writable by its owner only (0600), or
// narrows an existing one and its WAL files to that: it holds incidents, roles and the usage
// log. SQLite creates its -wal and -shm files with the database file's permissions.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create SQLite database %s: %w", path, err)
	}
	_ = f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: SQLite database %s: %w", p, err)
		}
	}
	return nil
}

// sqliteTime formats t for storage.
func sqliteTime(t time.Time) string {
	return utc(t).Format(sqliteTimeLayout)
}

// parseSQLiteTime parses a timestamp written by sqliteTime.
func parseSQLiteTime(s string) (time.Time, error) {
	t, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q: %w", s, err)
	}
	return utc(t), nil
}
