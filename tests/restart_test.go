package tests

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// vigilProc is a `vigil dev` child process.
type vigilProc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	http string
	tmp  string
}

func startVigilDev(t *testing.T, bin, dataDir string, extra ...string) *vigilProc {
	t.Helper()
	p := &vigilProc{out: &bytes.Buffer{}, http: testenv.FreeAddr(t), tmp: testenv.FreeAddr(t)}
	args := append([]string{"dev", "--data-dir", dataDir, "--http", p.http, "--temporal", p.tmp, "--ui", "off"}, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_, _ = p.cmd.Process.Wait()
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + p.http + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 2*time.Minute, 200*time.Millisecond, "vigil dev did not become healthy; output:\n%s", p.out)
	return p
}

// TestDevResumesTimerAfterSIGKILL proves the dev server's durability: a workflow sleeping on a
// timer when `vigil dev` is killed with SIGKILL completes after a restart on the same data dir.
func TestDevResumesTimerAfterSIGKILL(t *testing.T) {
	bin := testenv.BuildVigil(t)
	dataDir := filepath.Join(t.TempDir(), "data")

	p1 := startVigilDev(t, bin, dataDir)
	// Payloads are encrypted with the data dir's codec key: a client needs it to read them.
	dc, err := app.DevDataConverter(dataDir)
	require.NoError(t, err)
	c1, err := client.Dial(client.Options{HostPort: p1.tmp, DataConverter: dc})
	require.NoError(t, err)
	ctx := context.Background()
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe-sigkill", TaskQueue: workflows.TaskQueue},
		workflows.ProbeWorkflow, workflows.ProbeInput{Sleep: 3 * time.Second, Message: "survived"})
	require.NoError(t, err)
	// Wait until the timer is in the history: the workflow is asleep.
	require.Eventually(t, func() bool {
		it := c1.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond)
	c1.Close()

	require.NoError(t, p1.cmd.Process.Signal(syscall.SIGKILL))
	_ = p1.cmd.Wait()
	ws := p1.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the first vigil dev was killed by SIGKILL")

	p2 := startVigilDev(t, bin, dataDir)
	c2, err := client.Dial(client.Options{HostPort: p2.tmp, DataConverter: dc})
	require.NoError(t, err)
	defer c2.Close()
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var res workflows.ProbeResult
	require.NoError(t, c2.GetWorkflow(wctx, run.GetID(), run.GetRunID()).Get(wctx, &res), "output:\n%s", p2.out)
	require.True(t, strings.HasSuffix(res.Echo, ": survived"), res.Echo)

	// The Temporal database holds the payloads encrypted only.
	for _, f := range []string{"temporal.db", "temporal.db-wal"} {
		db, err := os.ReadFile(filepath.Join(dataDir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		require.NotContains(t, string(db), "survived", "payloads are encrypted at rest (%s)", f)
	}

	// A clean stop (SIGTERM) exits 0.
	require.NoError(t, p2.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p2.cmd.Wait(), "output:\n%s", p2.out)
}
