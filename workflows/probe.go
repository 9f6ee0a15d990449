package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
)

// ProbeInput configures a ProbeWorkflow.
type ProbeInput struct {
	// Sleep is how long the durable timer runs before the activity (0 = no timer).
	Sleep time.Duration `json:"sleep"`
	// Message is echoed back by the activity.
	Message string `json:"message"`
}

// ProbeResult says which worker ran the activity.
type ProbeResult struct {
	Echo string `json:"echo"`
}

// ProbeWorkflow is a diagnostic: it sleeps on a durable timer, then runs one activity. Operators
// use it to check that timers, task queues and workers work end to end; with Sleep 0 it is the
// bare one-activity workflow the benchmarks compare against.
func ProbeWorkflow(ctx workflow.Context, in ProbeInput) (ProbeResult, error) {
	if in.Sleep > 0 {
		if err := workflow.Sleep(ctx, in.Sleep); err != nil {
			return ProbeResult{}, err
		}
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var res ProbeResult
	err := workflow.ExecuteActivity(ctx, activities.Probe, in.Message).Get(ctx, &res.Echo)
	return res, err
}
