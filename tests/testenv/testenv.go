// Package testenv starts real parts for Vigil's integration tests: an in-process Temporal server,
// a whole `vigil dev` app on free ports, and a PostgreSQL URL that fails loudly when no server runs.
package testenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/devserver"
	"github.com/vigil-ops/vigil/workflows"
)

// Logger returns a logger that writes to the test log when -v is set, and is quiet otherwise
// (set VIGIL_TEST_LOG=1 to see every line).
func Logger(t testing.TB) *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("VIGIL_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// StartTemporal starts an in-process Temporal server with Vigil's search attributes. With
// dbFile "" it is in memory. It stops when the test ends.
func StartTemporal(t testing.TB, dbFile string) *devserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devserver.Start(ctx, devserver.Options{
		DatabaseFile:     dbFile,
		Address:          "127.0.0.1:0",
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           Logger(t),
	})
	if err != nil {
		t.Fatalf("start in-process temporal server: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// Client dials s and closes the client when the test ends.
func Client(t testing.TB, s *devserver.Server) client.Client {
	t.Helper()
	c, err := s.NewClient(client.Options{})
	if err != nil {
		t.Fatalf("dial temporal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// DevConfig returns a `vigil dev` configuration on free ports in a temporary data dir, with the
// Web UI off. mutate may change it further.
func DevConfig(t testing.TB, mutate func(*config.Config)) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Address = "127.0.0.1:0"
	cfg.Temporal.Address = "127.0.0.1:0"
	cfg.Dev.UIAddress = ""
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

// StartDev runs the whole `vigil dev` process in the test process and returns it with the base
// URL of its HTTP API. It stops when the test ends.
func StartDev(t testing.TB, cfg *config.Config) (*app.App, string) {
	t.Helper()
	return StartDevLogger(t, cfg, Logger(t))
}

// StartDevLogger is StartDev logging to logger (a benchmark's, at its own level).
func StartDevLogger(t testing.TB, cfg *config.Config, logger *slog.Logger) (*app.App, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := app.Start(ctx, app.ModeDev, cfg, logger)
	if err != nil {
		t.Fatalf("start vigil dev: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a, "http://" + a.HTTPAddr()
}

// PostgresURL returns the URL of the test PostgreSQL server (VIGIL_TEST_DATABASE_URL, default
// the local server on 127.0.0.1:5432, database test). It fails the test, saying how to start the
// server, when nothing listens there.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("VIGIL_TEST_DATABASE_URL")
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
	if err != nil && os.Getenv("VIGIL_TEST_DATABASE_URL") == "" {
		Missing(t, "PostgreSQL is not reachable on 127.0.0.1:5432 (%v). Start it with: "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start "+
			"— or point VIGIL_TEST_DATABASE_URL at a server", err)
	}
	if c != nil {
		_ = c.Close()
	}
	return u
}

// Missing reports a server or tool a test needs that is not there: in CI (CI set, as .ci/run
// runs) the test fails with how to install or start it; elsewhere it is skipped with the same
// message, so `go test ./...` on a laptop runs what it can and says what it left out. Set
// VIGIL_REQUIRE_SERVICES=1 to fail outside CI too.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" || os.Getenv("VIGIL_REQUIRE_SERVICES") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf("skipped, a service is missing: "+format, args...)
}

// FreeAddr returns a loopback host:port that is free at the time of the call.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// BuildVigil compiles cmd/vigil into a temporary directory and returns the binary's path.
func BuildVigil(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := runCmd(root, "go", "build", "-o", bin, "./cmd/vigil"); err != nil {
		t.Fatalf("go build ./cmd/vigil: %v\n%s", err, out)
	}
	return bin
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// PostgresSchema creates a fresh schema named prefix_<nanoseconds> on the test PostgreSQL server,
// dropped when the test ends, and returns the URL that uses it (search_path), its name and an open
// connection for the test's own queries.
func PostgresSchema(t testing.TB, prefix string) (dbURL, schema string, conn *pgx.Conn) {
	t.Helper()
	pgURL := PostgresURL(t)
	ctx := context.Background()
	schema = fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatalf("connect to PostgreSQL at %s: %v", pgURL, err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = conn.Close(ctx)
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	return pgURL + sep + "search_path=" + schema, schema, conn
}
