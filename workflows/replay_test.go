package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded on a real server (tests/record_test.go)
// against today's workflow code: a change that breaks determinism fails here, before it can
// break workflows in flight.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories; record them with VIGIL_RECORD_HISTORIES=1 go test ./tests -run TestRecordHistories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(IncidentWorkflow, workflow.RegisterOptions{Name: "IncidentWorkflow"})
			r.RegisterWorkflowWithOptions(RoleCallWorkflow, workflow.RegisterOptions{Name: "RoleCallWorkflow"})
			r.RegisterWorkflowWithOptions(ProbeWorkflow, workflow.RegisterOptions{Name: "ProbeWorkflow"})
			r.RegisterWorkflowWithOptions(ChangeTrackingWorkflow, workflow.RegisterOptions{Name: "ChangeTrackingWorkflow"})
			r.RegisterWorkflowWithOptions(OnCallWorkflow, workflow.RegisterOptions{Name: "OnCallWorkflow"})
			r.RegisterWorkflowWithOptions(CodeTuningWorkflow, workflow.RegisterOptions{Name: "CodeTuningWorkflow"})
			id, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".wfid")
			if err != nil { // recorded before IDs were kept: the replayer's own ID will do
				require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
				return
			}
			raw, err := os.Open(f)
			require.NoError(t, err)
			defer raw.Close()
			hist, err := client.HistoryFromJSON(raw, client.HistoryJSONOptions{})
			require.NoError(t, err)
			runID := hist.Events[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: strings.TrimSpace(string(id)), RunID: runID}}))
		})
	}
}
