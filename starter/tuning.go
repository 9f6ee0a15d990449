package starter

import (
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/workflows"
)

// postTuningRun starts a code-tuning run now (besides the nightly schedule).
func (a *API) postTuningRun(w http.ResponseWriter, r *http.Request) {
	if a.Tuning.Repository == "" {
		writeProblem(w, Problem{Status: http.StatusNotFound, Detail: "code tuning is not configured (code_tuning.repository)"})
		return
	}
	in := a.Tuning
	in.Client = clientName(r)
	id := fmt.Sprintf("code-tuning-%d", time.Now().UnixMilli())
	run, err := a.Temporal.ExecuteWorkflow(r.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: a.TaskQueue},
		workflows.CodeTuningWorkflow, in)
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "could not start code tuning: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"workflowId": run.GetID(), "runId": run.GetRunID(),
		"run": "/v1/code-tuning/runs/" + run.GetID()})
}

// getTuningRun shows a code-tuning run: each problem and its outcome (a pull request, no
// change, no source found).
func (a *API) getTuningRun(w http.ResponseWriter, r *http.Request) {
	v, err := a.Temporal.QueryWorkflow(r.Context(), r.PathValue("id"), "", workflows.QueryTuning)
	if err != nil {
		p := problemOf(err)
		if p.Status == http.StatusNotFound {
			p.Detail = fmt.Sprintf("no code-tuning run %q", r.PathValue("id"))
		}
		writeProblem(w, p)
		return
	}
	var st workflows.TuningState
	if err := v.Get(&st); err != nil {
		writeProblem(w, Problem{Status: http.StatusInternalServerError, Detail: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}
