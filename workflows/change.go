package workflows

import (
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/roles"
)

// ChangeRole is the role that judges a deployment's health.
const ChangeRole = "change-tracker"

// Names of the change-tracking workflow's query, update and signal.
const (
	QueryDeployment       = "deployment"
	UpdateGate            = "gate"
	SignalDeploymentEvent = "deployment-event"
)

// Deployment event types the release system reports.
const (
	EventStarted    = "started"
	EventFinished   = "finished"
	EventRolledBack = "rolled-back"
	EventCancelled  = "cancelled"
)

// Gate decisions.
const (
	GatePending = "pending"
	GateProceed = "proceed"
	GateHold    = "hold"
)

// DefaultCheckpoints are the check times relative to the deployment: one before (the gate),
// frequent after, then sparser.
var DefaultCheckpoints = []time.Duration{-30 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// FinishWait is how long after the planned time the workflow waits for a "finished" event
// before it counts the checkpoints from the planned time.
const FinishWait = 6 * time.Hour

// DeploymentWorkflowID derives the workflow ID from the deployment ID: announcing a deployment
// twice lands on one run.
func DeploymentWorkflowID(id string) string { return "deploy-" + sanitizeID(id) }

// ChangeInput starts a ChangeTrackingWorkflow.
type ChangeInput struct {
	Deployment  activities.Deployment `json:"deployment"`
	Checkpoints []time.Duration       `json:"checkpoints,omitempty"` // default DefaultCheckpoints
	Client      string                `json:"client"`
}

// DeploymentEvent is a signal from the release system.
type DeploymentEvent struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
}

// GateAnswer is the pre-check's decision.
type GateAnswer struct {
	Decision  string    `json:"decision"`
	Reasons   []string  `json:"reasons,omitempty"`
	CheckedAt time.Time `json:"checkedAt,omitempty"`
}

// Checkpoint is one health check and its verdict.
type Checkpoint struct {
	Label   string             `json:"label"` // "-30m", "+10m", "catch-up", "final"
	At      time.Time          `json:"at"`
	From    time.Time          `json:"from"`
	To      time.Time          `json:"to"`
	CatchUp bool               `json:"catchUp,omitempty"`
	Verdict *llm.ChangeVerdict `json:"verdict,omitempty"`
	Apps    []llm.ChangeApp    `json:"apps,omitempty"` // the findings behind the verdict
	Link    string             `json:"link,omitempty"` // provider/model that answered
	Error   string             `json:"error,omitempty"`
}

// DeploymentState is what GET /v1/deployments/{id} and QueryDeployment show.
type DeploymentState struct {
	Deployment  activities.Deployment `json:"deployment"`
	Status      string                `json:"status"` // scheduled, pre-check, waiting, watching, rolled-back, cancelled, done
	Gate        GateAnswer            `json:"gate"`
	StartedAt   *time.Time            `json:"startedAt,omitempty"`
	FinishedAt  *time.Time            `json:"finishedAt,omitempty"`
	Checkpoints []Checkpoint          `json:"checkpoints"`
}

// ChangeTrackingWorkflow watches one deployment:
//  1. at the planned time minus 30 minutes (at once if that is past), the pre-check sets the gate
//     the release system asks for (UpdateGate): proceed when every application is STABLE,
//     hold with the reasons otherwise;
//  2. it waits for the release system's "finished" event (counting from the planned time when
//     none comes within FinishWait);
//  3. it checks at each checkpoint after the finish on durable timers; checkpoints already past
//     when it gets there (a late announcement) are caught up once, together;
//  4. a rollback or cancellation ends the schedule with a final check.
//
// Each check compares every application's metrics with the same window a day and a week earlier
// (the comparison engine) and has the role change-tracker judge the findings in its JSON schema;
// the built-in analyst writes the same verdict when no LLM answers.
func ChangeTrackingWorkflow(ctx workflow.Context, in ChangeInput) (DeploymentState, error) {
	w := &changeWorkflow{in: in, st: DeploymentState{Deployment: in.Deployment, Status: "scheduled",
		Gate: GateAnswer{Decision: GatePending}, Checkpoints: []Checkpoint{}}}
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	return w.run(ctx)
}

type changeWorkflow struct {
	in     ChangeInput
	st     DeploymentState
	events workflow.ReceiveChannel
	ended  string // rolled-back or cancelled
	vault  *mask.Vault
	role   *roles.Role
}

func (w *changeWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryDeployment, func() (DeploymentState, error) { return w.st, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateGate, func(workflow.Context) (GateAnswer, error) { return w.st.Gate, nil }); err != nil {
		return err
	}
	w.events = workflow.GetSignalChannel(ctx, SignalDeploymentEvent)
	app := ""
	if len(w.in.Deployment.Applications) > 0 {
		app = w.in.Deployment.Applications[0].Name
	}
	return workflow.UpsertTypedSearchAttributes(ctx, SearchAttrKind.ValueSet("deployment"),
		SearchAttrApplication.ValueSet(app), SearchAttrState.ValueSet("scheduled"))
}

func (w *changeWorkflow) run(ctx workflow.Context) (DeploymentState, error) {
	cps := append([]time.Duration(nil), w.in.Checkpoints...)
	if len(cps) == 0 {
		cps = DefaultCheckpoints
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i] < cps[j] })
	planned := w.in.Deployment.PlannedAt

	// 1. The gate.
	for _, d := range cps {
		if d >= 0 {
			continue
		}
		w.waitUntil(ctx, planned.Add(d))
		w.st.Status = "pre-check"
		now := workflow.Now(ctx)
		// The pre-check judges the time before the deployment: for a late announcement that is
		// the window before the planned time, not the last minutes.
		end := now
		if planned.Before(end) {
			end = planned
		}
		cp := w.check(ctx, label(d), end.Add(d), end, false)
		w.st.Gate = gateOf(cp, now)
		w.st.Status = "waiting"
		w.setState(ctx, w.st.Gate.Decision)
		if w.st.Gate.Decision == GateHold {
			w.notifyHold(ctx)
		}
	}

	// 2. The deployment itself.
	for w.st.FinishedAt == nil && w.ended == "" {
		if !w.waitUntil(ctx, planned.Add(FinishWait)) {
			break // no finish reported: count from the planned time
		}
	}
	finish := planned
	if w.st.FinishedAt != nil {
		finish = *w.st.FinishedAt
	}

	// 3. The checkpoints after it.
	w.st.Status = "watching"
	var pastDue []time.Duration
	for _, d := range cps {
		if d < 0 || w.ended != "" {
			continue
		}
		due := finish.Add(d)
		if !due.After(workflow.Now(ctx)) {
			pastDue = append(pastDue, d)
			continue
		}
		if len(pastDue) > 0 {
			// A late announcement: the checkpoints already past are checked once, together.
			w.check(ctx, "catch-up", finish, workflow.Now(ctx), true)
			pastDue = nil
		}
		w.waitUntil(ctx, due)
		if w.ended != "" {
			break
		}
		w.check(ctx, label(d), maxTime(finish, due.Add(-time.Hour)), due, false)
	}
	if len(pastDue) > 0 && w.ended == "" {
		w.check(ctx, "catch-up", finish, workflow.Now(ctx), true)
	}

	// 4. A rollback or cancellation ends the schedule with a final check.
	if w.ended != "" {
		now := workflow.Now(ctx)
		w.check(ctx, "final", maxTime(finish, now.Add(-30*time.Minute)), now, false)
		w.st.Status = w.ended
	} else {
		w.st.Status = "done"
	}
	w.setState(ctx, w.st.Status)
	return w.st, nil
}

// waitUntil sleeps until t, taking in the release system's events meanwhile. It returns false
// when t was reached, true when an event arrived first (the caller decides again).
func (w *changeWorkflow) waitUntil(ctx workflow.Context, t time.Time) bool {
	d := t.Sub(workflow.Now(ctx))
	if d <= 0 {
		w.drainEvents()
		return false
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, d)
	for {
		fired, event := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		sel.AddReceive(w.events, func(c workflow.ReceiveChannel, _ bool) {
			var e DeploymentEvent
			c.Receive(ctx, &e)
			w.apply(e)
			event = true
		})
		sel.Select(ctx)
		if fired {
			return false
		}
		if event && (w.ended != "" || w.st.FinishedAt != nil) {
			return true
		}
	}
}

func (w *changeWorkflow) drainEvents() {
	for {
		var e DeploymentEvent
		if !w.events.ReceiveAsync(&e) {
			return
		}
		w.apply(e)
	}
}

func (w *changeWorkflow) apply(e DeploymentEvent) {
	at := e.At
	switch e.Type {
	case EventStarted:
		w.st.StartedAt = &at
	case EventFinished:
		if w.st.FinishedAt == nil {
			w.st.FinishedAt = &at
		}
	case EventRolledBack, EventCancelled:
		w.ended = e.Type
	}
}

// check runs one health check; its failure is recorded on the checkpoint, never fatal.
func (w *changeWorkflow) check(ctx workflow.Context, lbl string, from, to time.Time, catchUp bool) Checkpoint {
	var a *activities.Activities
	cp := Checkpoint{Label: lbl, At: workflow.Now(ctx), From: from, To: to, CatchUp: catchUp}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
	})
	lactx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	defer func() { w.st.Checkpoints = append(w.st.Checkpoints, cp) }()

	var health activities.HealthResult
	if err := workflow.ExecuteActivity(actx, a.CollectHealth, activities.HealthRequest{
		Apps: w.in.Deployment.Applications, From: from, To: to}).Get(ctx, &health); err != nil {
		cp.Error = errMessage(err)
		return cp
	}
	cp.Apps = health.Apps
	if w.role == nil {
		var r roles.Role
		if err := workflow.ExecuteLocalActivity(lactx, a.ResolveRole, ChangeRole).Get(ctx, &r); err != nil {
			cp.Error = errMessage(err)
			return cp
		}
		w.role = &r
	}
	answer, err := CallRole(ctx, RoleCallInput{
		Role: *w.role, Client: w.in.Client, Subject: "deployment/" + w.in.Deployment.ID,
		Messages: []llm.Message{{Role: "user", Content: fmt.Sprintf("Deployment %s (version %s), checkpoint %s.\n\n%s",
			w.in.Deployment.ID, w.in.Deployment.Version, lbl, health.Prompt)}},
		Task:  &llm.Task{Kind: llm.TaskChangeVerdict, Change: &llm.ChangeTask{Deployment: w.in.Deployment.ID, Checkpoint: lbl, Apps: health.Apps}},
		Vault: w.vault,
	})
	w.vault = answer.Vault
	if err != nil {
		cp.Error = errMessage(err)
		return cp
	}
	cp.Link = answer.Provider + "/" + answer.Model
	var v llm.ChangeVerdict
	if err := workflow.ExecuteLocalActivity(lactx, a.ParseVerdict, answer.Text).Get(ctx, &v); err != nil {
		cp.Error = errMessage(err)
		return cp
	}
	cp.Verdict = &v
	w.setState(ctx, v.State)
	return cp
}

func (w *changeWorkflow) setState(ctx workflow.Context, s string) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrState.ValueSet(s))
}

// notifyHold pushes a hold to every notify channel, once per deployment and channel.
func (w *changeWorkflow) notifyHold(ctx workflow.Context) {
	d := w.in.Deployment
	text := fmt.Sprintf("The pre-check of deployment %s (version %s) says hold:\n", d.ID, d.Version)
	for _, r := range w.st.Gate.Reasons {
		text += "- " + r + "\n"
	}
	deliverAll(ctx, notify.Message{
		IncidentID: DeploymentWorkflowID(d.ID) + "/" + workflow.GetInfo(ctx).FirstRunID + "/hold",
		Title:      fmt.Sprintf("[hold] deployment %s", d.ID), Text: text, Severity: "warning", Status: GateHold,
	})
}

// gateOf turns the pre-check into the gate: proceed only on a verdict that says STABLE.
func gateOf(cp Checkpoint, now time.Time) GateAnswer {
	g := GateAnswer{Decision: GateHold, CheckedAt: now}
	switch {
	case cp.Verdict == nil:
		g.Reasons = []string{"the pre-check did not complete: " + cp.Error}
	case cp.Verdict.State == "STABLE":
		g.Decision = GateProceed
	default:
		for _, app := range cp.Verdict.Applications {
			if app.State != "STABLE" {
				g.Reasons = append(g.Reasons, fmt.Sprintf("%s is %s: %s", app.Name, app.State, app.Comment))
			}
		}
		if len(g.Reasons) == 0 {
			g.Reasons = []string{cp.Verdict.Comment}
		}
	}
	return g
}

func label(d time.Duration) string {
	s := d.String()
	if d > 0 {
		s = "+" + s
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
