package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.temporal.io/sdk/workflow"
)

// UpdateAnswer is the update through which callers of a RoleInvokeWorkflow receive its answer.
const UpdateAnswer = "answer"

// QueryRun is the query that reads a RoleInvokeWorkflow's state (GET /v1/roles/{code}/runs/{id}).
const QueryRun = "run"

// RunState is the state of a role run.
type RunState struct {
	// Status is running, completed or failed.
	Status string          `json:"status"`
	Result *RoleCallResult `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	// StartedAt is when the call started.
	StartedAt time.Time `json:"started_at"`
}

// InvokeInput starts a RoleInvokeWorkflow.
type InvokeInput struct {
	Call RoleCallInput `json:"call"`
	// ReuseFor is the role's rate-limit interval: for that long after the call started, further
	// invokes for the same role and subject receive this answer instead of calling again.
	ReuseFor time.Duration `json:"reuse_for"`
}

// InvokeAnswer is what each caller receives.
type InvokeAnswer struct {
	Result RoleCallResult `json:"result"`
	// Reused is true for every caller but the first: the answer was not produced for it.
	Reused bool `json:"reused"`
	// StartedAt is when the answered call started.
	StartedAt time.Time `json:"started_at"`
}

// RoleInvokeWorkflowID names the invoke workflow of a role and subject: every invoke inside the
// role's rate-limit interval by the same client, with the same messages and parameters, lands
// on the same workflow (another client, or another question, never gets someone else's answer).
// Without a subject there is no reuse and the caller supplies a unique suffix.
func RoleInvokeWorkflowID(role, subject, unique string, scope ...string) string {
	if subject == "" {
		return "invoke-" + role + "-" + unique
	}
	h := sha256.New()
	h.Write([]byte(subject))
	for _, s := range scope {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return "invoke-" + role + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// RoleInvokeWorkflow serves POST /v1/roles/{code}/runs, the durable path of a role call (the
// answer outlives the caller; POST /v1/roles/{code}/invoke answers synchronously through the
// gateway package). Runs for the same role and subject inside the role's rate-limit interval
// share one workflow (its ID, RoleInvokeWorkflowID); callers that want to wait for the answer
// use the UpdateAnswer update, and every caller after the first gets it marked reused.
// After a successful call the workflow stays open for the rest of the interval to serve them; a
// failed call ends it at once, so the next invoke tries again.
func RoleInvokeWorkflow(ctx workflow.Context, in InvokeInput) (RoleCallResult, error) {
	started := workflow.Now(ctx)
	var (
		result  RoleCallResult
		callErr error
		done    bool
		served  int
	)
	if err := workflow.SetUpdateHandler(ctx, UpdateAnswer, func(ctx workflow.Context) (InvokeAnswer, error) {
		served++
		reused := served > 1
		if err := workflow.Await(ctx, func() bool { return done }); err != nil {
			return InvokeAnswer{}, err
		}
		if callErr != nil {
			return InvokeAnswer{}, callErr
		}
		return InvokeAnswer{Result: result, Reused: reused, StartedAt: started}, nil
	}); err != nil {
		return RoleCallResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryRun, func() (RunState, error) {
		st := RunState{Status: "running", StartedAt: started}
		switch {
		case done:
			res := result
			res.Vault = nil // the masking vault holds the originals: never handed out
			st.Status, st.Result = "completed", &res
			if callErr != nil {
				st.Status, st.Error = "failed", errMessage(callErr)
			}
		}
		return st, nil
	}); err != nil {
		return RoleCallResult{}, err
	}

	result, callErr = CallRole(ctx, in.Call)
	done = true
	if callErr == nil && in.ReuseFor > 0 {
		if rest := in.ReuseFor - workflow.Now(ctx).Sub(started); rest > 0 {
			if err := workflow.Sleep(ctx, rest); err != nil {
				return result, err
			}
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return result, err
	}
	return result, callErr
}
