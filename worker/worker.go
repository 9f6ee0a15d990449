package worker

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/llm"
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
func New(c client.Client, acts *activities.Activities, onCall *activities.OnCall, tuning *activities.Tuning, o Options) sdkworker.Worker {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.TaskQueue
	}
	w := sdkworker.New(c, o.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize:     o.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: o.MaxConcurrentWorkflowTasks,
		DisableEagerActivities:                 o.DisableEagerActivities,
	})
	Register(w, acts, onCall, tuning)
	return w
}

// Register adds every workflow and activity to a registry (a worker, or a test environment): the
// activities of each capability from its own struct (nil: an empty one, enough to replay).
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
	RegisterActivity(any)
}, acts *activities.Activities, onCall *activities.OnCall, tuning *activities.Tuning) {
	if acts == nil {
		acts = &activities.Activities{}
	}
	if onCall == nil {
		onCall = &activities.OnCall{}
	}
	if tuning == nil {
		tuning = &activities.Tuning{}
	}
	r.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: "IncidentWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.RoleCallWorkflow, workflow.RegisterOptions{Name: "RoleCallWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ProbeWorkflow, workflow.RegisterOptions{Name: "ProbeWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.RoleInvokeWorkflow, workflow.RegisterOptions{Name: "RoleInvokeWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ChangeTrackingWorkflow, workflow.RegisterOptions{Name: "ChangeTrackingWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.OnCallWorkflow, workflow.RegisterOptions{Name: "OnCallWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.CodeTuningWorkflow, workflow.RegisterOptions{Name: "CodeTuningWorkflow"})
	r.RegisterActivity(acts)
	r.RegisterActivity(onCall)
	r.RegisterActivity(tuning)
}

// NewLinkWorkers builds one worker per declared provider model, polling the model's own task
// queue (workflows.LinkTaskQueue). The model's requests-per-minute budget is not the queue's: it
// lives in the store, where both call paths of every replica take from it (activities.Budget).
func NewLinkWorkers(c client.Client, acts *activities.Activities, base string, models []llm.ModelInfo) []sdkworker.Worker {
	if base == "" {
		base = workflows.TaskQueue
	}
	var out []sdkworker.Worker
	for _, m := range models {
		// The model's rpm budget is held in the store (gateway.StoreBudget), shared with the
		// synchronous path; a task-queue rate limit would only see this path's calls.
		o := sdkworker.Options{MaxConcurrentActivityExecutionSize: 64}
		w := sdkworker.New(c, workflows.LinkTaskQueue(base, m.Provider, m.Model), o)
		w.RegisterActivityWithOptions(acts.CallLink, activity.RegisterOptions{Name: "CallLink"})
		out = append(out, w)
	}
	return out
}
