package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/store"
)

// TestSQLiteFileIsOwnerOnly: the database and its WAL files are created 0600 (its directory
// 0700), and an existing database readable by others is narrowed to 0600 when opened.
func TestSQLiteFileIsOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "vigil.db")
	s, err := store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	require.NoError(t, s.SaveIncident(t.Context(), store.Incident{WorkflowID: "incident-1", RunID: "r", Status: "running"}))
	for _, p := range []string{path, path + "-wal"} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
	}
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	require.NoError(t, s.Close())

	require.NoError(t, os.Chmod(path, 0o644))
	s, err = store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	defer s.Close()
	st, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
