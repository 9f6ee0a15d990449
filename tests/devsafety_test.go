package tests

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/tests/testenv"
)

// runDevFails runs `vigil dev` with args, expects it to exit 1 within a minute and returns its
// output, which must be one line without a stack trace.
func runDevFails(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"dev"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "vigil dev %v must fail; output:\n%s", args, out.String())
		require.Equal(t, 1, ee.ExitCode(), out.String())
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("vigil dev %v did not stop; output:\n%s", args, out.String())
	}
	msg := strings.TrimSpace(out.String())
	require.NotContains(t, msg, "\n", "one line, no log or stack trace")
	require.NotContains(t, msg, "panic")
	require.NotContains(t, msg, "goroutine")
	return msg
}

// TestDevRefusesTemporalOnTheNetwork: the embedded Temporal frontend and Web UI have no
// authentication, so `vigil dev` refuses a non-loopback address for either unless told so by a
// flag that says it; with the flag it starts and warns.
func TestDevRefusesTemporalOnTheNetwork(t *testing.T) {
	bin := testenv.BuildVigil(t)
	dir := t.TempDir()

	msg := runDevFails(t, bin, "--data-dir", filepath.Join(dir, "a"), "--http", testenv.FreeAddr(t), "--temporal", "0.0.0.0:0", "--ui", "off")
	require.Contains(t, msg, "refusing to serve the Temporal frontend on 0.0.0.0:0")
	require.Contains(t, msg, "--unauthenticated-temporal-on-network")

	msg = runDevFails(t, bin, "--data-dir", filepath.Join(dir, "b"), "--http", testenv.FreeAddr(t), "--temporal", testenv.FreeAddr(t), "--ui", "[::]:0")
	require.Contains(t, msg, "refusing to serve the Temporal Web UI on [::]:0")

	// Nothing was started: no data dir was created.
	_, err := os.Stat(filepath.Join(dir, "a"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Explicitly allowed: it starts, and says what it exposes.
	port := strings.Split(testenv.FreeAddr(t), ":")[1]
	p := startVigilDev(t, bin, filepath.Join(dir, "c"), "--temporal", "0.0.0.0:"+port, "--unauthenticated-temporal-on-network")
	require.Contains(t, p.out.String(), "listening on the network without authentication")
	require.Contains(t, p.out.String(), "the Temporal frontend on 0.0.0.0:"+port)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait(), p.out.String())
}

// TestDevStartupFailuresAreOneLine: a port taken, a data dir that cannot be written and a data
// dir in use by another `vigil dev` each end `vigil dev` with one line naming the cause and the
// fix.
func TestDevStartupFailuresAreOneLine(t *testing.T) {
	bin := testenv.BuildVigil(t)
	dir := t.TempDir()
	hold := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = l.Close() })
		return l.Addr().String()
	}

	taken := hold()
	msg := runDevFails(t, bin, "--data-dir", filepath.Join(dir, "a"), "--http", testenv.FreeAddr(t), "--temporal", taken, "--ui", "off")
	require.Contains(t, msg, "temporal address "+taken+" is taken")
	require.Contains(t, msg, "choose another address with --temporal")

	taken = hold()
	msg = runDevFails(t, bin, "--data-dir", filepath.Join(dir, "b"), "--http", taken, "--temporal", testenv.FreeAddr(t), "--ui", "off")
	require.Contains(t, msg, "http.address "+taken+" is taken")
	require.Contains(t, msg, "--http")

	taken = hold()
	msg = runDevFails(t, bin, "--data-dir", filepath.Join(dir, "c"), "--http", testenv.FreeAddr(t), "--temporal", testenv.FreeAddr(t), "--ui", taken)
	require.Contains(t, msg, "temporal UI address "+taken)
	require.Contains(t, msg, "--ui")

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	msg = runDevFails(t, bin, "--data-dir", filepath.Join(file, "data"), "--http", testenv.FreeAddr(t), "--temporal", testenv.FreeAddr(t), "--ui", "off")
	require.Contains(t, msg, "cannot be created")
	require.Contains(t, msg, "--data-dir")

	// A second vigil dev on the data dir of a running one.
	data := filepath.Join(dir, "shared")
	p := startVigilDev(t, bin, data)
	msg = runDevFails(t, bin, "--data-dir", data, "--http", testenv.FreeAddr(t), "--temporal", testenv.FreeAddr(t), "--ui", "off")
	require.Contains(t, msg, "data dir "+data+" is in use by another vigil dev")
	require.Contains(t, msg, "another --data-dir")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait(), p.out.String())

	// The data dir is private to its owner.
	st, err := os.Stat(data)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
}
