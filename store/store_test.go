package store_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/store"
)

func TestOpenSQLiteDSNs(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		"sqlite:" + filepath.Join(dir, "a", "one.db"),
		"sqlite://" + filepath.Join(dir, "b", "two.db"),
		"file:" + filepath.Join(dir, "c", "three.db"),
		filepath.Join(dir, "d", "four.db"),
		filepath.Join(dir, "e", "five.sqlite3"),
		":memory:",
	} {
		s, err := store.Open(t.Context(), dsn)
		require.NoError(t, err, dsn)
		require.Equal(t, "sqlite", s.Backend(), dsn)
		require.NoError(t, s.Ping(t.Context()), dsn)
		require.NoError(t, s.Close(), dsn)
		require.NoError(t, s.Close(), "second Close")
	}
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"", "mysql://root:hunter2@db/vigil", "vigil.txt", "sqlite:/tmp/x.db?mode=ro"} {
		_, err := store.Open(t.Context(), dsn)
		require.Error(t, err, dsn)
		require.NotContains(t, err.Error(), "hunter2", "DSN credentials must not leak into errors")
	}
}

// TestSQLiteReopen checks that data and the migration record survive a
// restart and that migrations are not applied twice.
func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	_, err = s.PutRoleVersion(t.Context(), store.RoleVersion{Code: "triage", Spec: json.RawMessage(`{"a":1}`)})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// Several processes (here: stores) opening the same file together.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := store.OpenSQLite(t.Context(), path)
			if err == nil {
				_, err = s.GetRole(t.Context(), "triage", 0)
				err = errors.Join(err, s.Close())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "opener %d", i)
	}

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var n, version int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &version))
	want, err := store.MigrationVersions("sqlite")
	require.NoError(t, err)
	require.Equal(t, len(want), n, "each migration applied once")
	require.Equal(t, want[len(want)-1], version)
	var mode string
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", strings.ToLower(mode))
}
