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

// Activities are the activity structs a worker runs, one per capability, each holding only what
// its activities use. A nil one is registered empty: enough to replay histories.
type Activities struct {
	Gateway  *activities.Gateway
	Incident *activities.Incident
	// Change serves change tracking and the investigation of an alert (CollectHealth, Enrich).
	Change *activities.Change
	// Delivery serves every capability that delivers on the notify channels.
	Delivery *activities.Delivery
	OnCall   *activities.OnCall
	Tuning   *activities.Tuning
}

// New builds a worker with every Vigil workflow and activity registered. Start it with Run or
// Start; the caller owns the client.
func New(c client.Client, acts Activities, o Options) sdkworker.Worker {
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

// Register adds every workflow and activity to a registry (a worker, or a test environment): the
// activities of each capability from its own struct, registered under their method names.
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
	RegisterActivity(any)
}, acts Activities) {
	r.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: "IncidentWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.RoleCallWorkflow, workflow.RegisterOptions{Name: "RoleCallWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ProbeWorkflow, workflow.RegisterOptions{Name: "ProbeWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.RoleInvokeWorkflow, workflow.RegisterOptions{Name: "RoleInvokeWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ChangeTrackingWorkflow, workflow.RegisterOptions{Name: "ChangeTrackingWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.OnCallWorkflow, workflow.RegisterOptions{Name: "OnCallWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.CodeTuningWorkflow, workflow.RegisterOptions{Name: "CodeTuningWorkflow"})
	r.RegisterActivity(orEmpty(acts.Gateway))
	r.RegisterActivity(orEmpty(acts.Incident))
	r.RegisterActivity(orEmpty(acts.Change))
	r.RegisterActivity(orEmpty(acts.Delivery))
	r.RegisterActivity(orEmpty(acts.OnCall))
	r.RegisterActivity(orEmpty(acts.Tuning))
	r.RegisterActivity(activities.Probe)
}

// orEmpty is p, or a new empty T when p is nil.
func orEmpty[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// NewLinkWorkers builds one worker per declared provider model, polling the model's own task
// queue (workflows.LinkTaskQueue). The model's requests-per-minute budget is not the queue's: it
// lives in the store, where both call paths of every replica take from it (activities.Gateway.Budget).
func NewLinkWorkers(c client.Client, gw *activities.Gateway, base string, models []llm.ModelInfo) []sdkworker.Worker {
	if base == "" {
		base = workflows.TaskQueue
	}
	var out []sdkworker.Worker
	for _, m := range models {
		// The model's rpm budget is held in the store (gateway.StoreBudget), shared with the
		// synchronous path; a task-queue rate limit would only see this path's calls.
		o := sdkworker.Options{MaxConcurrentActivityExecutionSize: 64}
		w := sdkworker.New(c, workflows.LinkTaskQueue(base, m.Provider, m.Model), o)
		w.RegisterActivityWithOptions(gw.CallLink, activity.RegisterOptions{Name: "CallLink"})
		out = append(out, w)
	}
	return out
}
