package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/worker"
)

// replayRegistry gives the replayer the worker's own registration (workflows only: a replay
// runs no activity).
type replayRegistry struct{ sdkworker.WorkflowReplayer }

func (replayRegistry) RegisterActivity(any) {}

// TestReplayRecordedHistories replays histories recorded on a real server (tests/record_test.go)
// against today's workflow code, with every workflow the worker registers: a change that breaks
// determinism fails here, before it can break workflows in flight. See docs/versioning.md.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories; record them with VIGIL_RECORD_HISTORIES=1 go test ./tests -run TestRecordHistories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := sdkworker.NewWorkflowReplayer()
			worker.Register(replayRegistry{r}, worker.Activities{})
			id, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".wfid")
			if err != nil { // recorded without an ID: the replayer's own ID will do
				require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
				return
			}
			raw, err := os.Open(f)
			require.NoError(t, err)
			defer raw.Close()
			hist, err := client.HistoryFromJSON(raw, client.HistoryJSONOptions{})
			require.NoError(t, err)
			runID := hist.Events[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, sdkworker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: strings.TrimSpace(string(id)), RunID: runID}}))
		})
	}
}
