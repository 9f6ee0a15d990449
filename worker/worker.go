package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/workflows"
)

// Options tune a worker.
type Options struct {
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string
	// MaxConcurrentActivities and MaxConcurrentWorkflowTasks default to the SDK's values.
	MaxConcurrentActivities    int
	MaxConcurrentWorkflowTasks int
	// DisableEagerActivities turns off eager activity dispatch (on by default: the worker that
	// completes a workflow task runs the activities it schedules without a matching round trip).
	DisableEagerActivities bool
}

// New builds a worker with every Vigil workflow and activity registered. Start it with Run or
// Start; the caller owns the client.
func New(c client.Client, acts *activities.Activities, o Options) sdkworker.Worker {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.TaskQueue
	}
	w := sdkworker.New(c, o.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize:     o.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: o.MaxConcurrentWorkflowTasks,
		DisableEagerActivities:                 o.DisableEagerActivities,
	})
	Register(w, acts)
	return w
}

// Register adds every workflow and activity to a registry (a worker, or a test environment).
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
	RegisterActivity(any)
}, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: "IncidentWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.RoleCallWorkflow, workflow.RegisterOptions{Name: "RoleCallWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ProbeWorkflow, workflow.RegisterOptions{Name: "ProbeWorkflow"})
	r.RegisterActivity(acts)
}
