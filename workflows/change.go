package workflows

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
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
	Deployment  change.Deployment `json:"deployment"`
	Checkpoints []time.Duration   `json:"checkpoints,omitempty"` // default DefaultCheckpoints
	// AppCheckpoints are per-application schedules by application name
	// (change_tracking.applications); the others follow Checkpoints.
	AppCheckpoints map[string][]time.Duration `json:"appCheckpoints,omitempty"`
	// Notify says which post-deployment checkpoints are pushed to the notify channels:
	// NotifyAll, NotifyNotStable (default) or NotifyNone. A hold always is.
	Notify string `json:"notify,omitempty"`
	Client string `json:"client"`
}

// Notification policies of ChangeInput.Notify.
const (
	NotifyAll       = "all"
	NotifyNotStable = "not_stable"
	NotifyNone      = "none"
)

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
	Label   string          `json:"label"` // "-30m", "+10m", "catch-up", "final"
	At      time.Time       `json:"at"`
	From    time.Time       `json:"from"`
	To      time.Time       `json:"to"`
	CatchUp bool            `json:"catchUp,omitempty"`
	Verdict *change.Verdict `json:"verdict,omitempty"`
	Apps    []change.App    `json:"apps,omitempty"` // the findings behind the verdict
	// Enrichments are the further queries run for each metric the verdict names.
	Enrichments []change.Enrichment `json:"enrichments,omitempty"`
	// Notified is each notify channel's outcome when this checkpoint was pushed.
	Notified []notify.DeliveryState `json:"notified,omitempty"`
	Link     string                 `json:"link,omitempty"` // provider/model that answered
	Error    string                 `json:"error,omitempty"`
}

// DeploymentState is what GET /v1/deployments/{id} and QueryDeployment show.
type DeploymentState struct {
	Deployment  change.Deployment `json:"deployment"`
	Status      string            `json:"status"` // scheduled, pre-check, waiting, watching, rolled-back, cancelled, done
	Gate        GateAnswer        `json:"gate"`
	StartedAt   *time.Time        `json:"startedAt,omitempty"`
	FinishedAt  *time.Time        `json:"finishedAt,omitempty"`
	Checkpoints []Checkpoint      `json:"checkpoints"`
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
	seq    int // the stored record's sequence number within the run
	saved  int // checkpoints already in the stored record
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
	updates := []temporal.SearchAttributeUpdate{SearchAttrKind.ValueSet("deployment"),
		SearchAttrApplication.ValueSet(app), SearchAttrState.ValueSet("scheduled")}
	names := make([]string, 0, len(w.in.Deployment.Applications))
	for _, a := range w.in.Deployment.Applications {
		names = append(names, a.Name)
	}
	updates = append(updates, SearchAttrApplications.ValueSet(names))
	return workflow.UpsertTypedSearchAttributes(ctx, updates...)
}

// schedule returns the union of every application's checkpoints, in order.
func (w *changeWorkflow) schedule() []time.Duration {
	var out []time.Duration
	for _, app := range w.in.Deployment.Applications {
		for _, d := range w.checkpointsOf(app.Name) {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, w.checkpointsOf("")...)
	}
	slices.Sort(out)
	return out
}

func (w *changeWorkflow) checkpointsOf(app string) []time.Duration {
	if cps, ok := w.in.AppCheckpoints[app]; ok && len(cps) > 0 {
		return cps
	}
	if len(w.in.Checkpoints) > 0 {
		return w.in.Checkpoints
	}
	return DefaultCheckpoints
}

// appsAt returns the applications whose schedule has a checkpoint at any of ds.
func (w *changeWorkflow) appsAt(ds ...time.Duration) []change.Application {
	var out []change.Application
	for _, app := range w.in.Deployment.Applications {
		for _, d := range ds {
			if slices.Contains(w.checkpointsOf(app.Name), d) {
				out = append(out, app)
				break
			}
		}
	}
	return out
}

// run tracks the deployment in its four steps: the gate (pre-checks), the deployment itself
// (waiting for its finish), the checkpoints after it, and the end (a final check after a
// rollback or cancellation).
func (w *changeWorkflow) run(ctx workflow.Context) (DeploymentState, error) {
	cps := w.schedule()
	planned := w.in.Deployment.PlannedAt
	w.save(ctx)
	w.gate(ctx, cps, planned)
	finish := w.awaitFinish(ctx, planned)
	w.watch(ctx, cps, finish)
	w.end(ctx, planned, finish)
	return w.st, nil
}

// gate runs the pre-deployment checks: one per negative offset (per-application schedules may
// have several); the decision stays pending until the last, and holds if any held.
func (w *changeWorkflow) gate(ctx workflow.Context, cps []time.Duration, planned time.Time) {
	var pre []time.Duration
	for _, d := range cps {
		if d < 0 {
			pre = append(pre, d)
		}
	}
	if len(pre) == 0 {
		w.st.Gate = GateAnswer{Decision: GateProceed, Reasons: []string{"no pre-check is scheduled"}, CheckedAt: workflow.Now(ctx)}
		w.setState(ctx, GateProceed)
	}
	var reasons []string
	var held []Checkpoint
	for i, d := range pre {
		// An event before the pre-check: wait on; a cancellation ends the wait.
		for w.waitUntil(ctx, planned.Add(d)) && w.ended == "" {
		}
		if w.ended != "" {
			break
		}
		w.st.Status = "pre-check"
		now := workflow.Now(ctx)
		// The pre-check judges the time before the deployment: for a late announcement that is
		// the window before the planned time, not the last minutes.
		end := now
		if planned.Before(end) {
			end = planned
		}
		apps := w.appsAt(d)
		cp := w.check(ctx, label(d), end.Add(d), end, false, apps, planned)
		g := gateOf(cp, now, apps)
		reasons = append(reasons, g.Reasons...)
		if g.Decision == GateHold {
			held = append(held, cp)
		}
		if i < len(pre)-1 {
			w.save(ctx)
			continue
		}
		w.st.Gate = GateAnswer{Decision: GateProceed, Reasons: reasons, CheckedAt: now}
		if len(held) > 0 {
			w.st.Gate.Decision = GateHold
		}
		w.st.Status = "waiting"
		w.setState(ctx, w.st.Gate.Decision)
		if len(held) > 0 {
			w.notifyHold(ctx, held)
		}
		w.save(ctx)
	}
	if w.ended != "" && w.st.Gate.Decision == GatePending {
		w.st.Gate = GateAnswer{Decision: GateHold, CheckedAt: workflow.Now(ctx),
			Reasons: []string{"the deployment was " + w.ended + " before its pre-check"}}
	}
}

// awaitFinish waits for the deployment's finish (at most FinishWait after the planned time) and
// returns it; without one the checkpoints count from the planned time.
func (w *changeWorkflow) awaitFinish(ctx workflow.Context, planned time.Time) time.Time {
	for w.st.FinishedAt == nil && w.ended == "" {
		if !w.waitUntil(ctx, planned.Add(FinishWait)) {
			break // no finish reported: count from the planned time
		}
	}
	if w.st.FinishedAt != nil {
		return *w.st.FinishedAt
	}
	return planned
}

// watch runs the checkpoints after the finish; those already past (a late announcement) are
// checked once, together.
func (w *changeWorkflow) watch(ctx workflow.Context, cps []time.Duration, finish time.Time) {
	if w.ended == "" {
		w.st.Status = "watching"
		w.save(ctx)
	}
	var pastDue []time.Duration
	catchUp := func() {
		// The window runs from the finish, at most a day: a longer one would overlap its own
		// 1 d baseline with the time after the change.
		to := workflow.Now(ctx)
		if to.After(finish.Add(24 * time.Hour)) {
			to = finish.Add(24 * time.Hour)
		}
		w.checkAndNotify(ctx, "catch-up", finish, to, true, w.appsAt(pastDue...), finish)
		pastDue = nil
	}
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
			catchUp()
		}
		// Events that change nothing here (a repeated "finished", a late "started") do not
		// bring the checkpoint forward.
		for w.waitUntil(ctx, due) && w.ended == "" {
		}
		if w.ended != "" {
			break
		}
		w.checkAndNotify(ctx, label(d), maxTime(finish, due.Add(-time.Hour)), due, false, w.appsAt(d), finish)
	}
	w.drainEvents() // a rollback that came during the last check still gets its final check
	if len(pastDue) > 0 && w.ended == "" {
		catchUp()
	}
	w.drainEvents()
}

// end closes the tracking: a rollback or cancellation ends the schedule with a final check —
// when something was deployed (a deployment cancelled before its planned time has nothing to
// judge).
func (w *changeWorkflow) end(ctx workflow.Context, planned, finish time.Time) {
	if w.ended != "" {
		now := workflow.Now(ctx)
		deployed := w.st.StartedAt != nil || w.st.FinishedAt != nil || !now.Before(planned)
		if deployed {
			w.checkAndNotify(ctx, "final", maxTime(finish, now.Add(-30*time.Minute)), now, false, w.in.Deployment.Applications, finish)
		}
		w.st.Status = w.ended
	} else {
		w.st.Status = "done"
	}
	w.setState(ctx, w.st.Status)
	w.save(ctx)
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

// checkAndNotify runs a post-deployment check, pushes its verdict to the notify channels as
// ChangeInput.Notify says and saves the record.
func (w *changeWorkflow) checkAndNotify(ctx workflow.Context, lbl string, from, to time.Time, catchUp bool, apps []change.Application, changedAt time.Time) {
	cp := w.check(ctx, lbl, from, to, catchUp, apps, changedAt)
	i := len(w.st.Checkpoints) - 1
	if w.shouldNotify(cp) {
		// The key names the checkpoint and its end: a label may repeat (a second catch-up).
		key := DeploymentWorkflowID(w.in.Deployment.ID) + "/" + workflow.GetInfo(ctx).FirstRunID + "/" + lbl + "@" +
			to.UTC().Format("20060102T150405Z")
		w.st.Checkpoints[i].Notified = deliverAll(ctx, verdictMessage(w.in.Deployment, key, cp))
	}
	w.save(ctx)
}

func (w *changeWorkflow) shouldNotify(cp Checkpoint) bool {
	switch w.in.Notify {
	case NotifyNone:
		return false
	case NotifyAll:
		return true
	}
	return cp.Verdict == nil || cp.Verdict.State != "STABLE"
}

// check runs one health check; its failure is recorded on the checkpoint, never fatal.
func (w *changeWorkflow) check(ctx workflow.Context, lbl string, from, to time.Time, catchUp bool, apps []change.Application, changedAt time.Time) Checkpoint {
	var gw *activities.Gateway
	var chg *activities.Change
	cp := Checkpoint{Label: lbl, At: workflow.Now(ctx), From: from, To: to, CatchUp: catchUp}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
	})
	lactx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	defer func() { w.st.Checkpoints = append(w.st.Checkpoints, cp) }()

	// A check after the change also compares with just before it: a metric that was already as
	// far from its baselines then (a drift, an earlier incident) is not this change's doing.
	var before time.Time
	if !from.Before(changedAt) {
		before = w.changeStart(changedAt)
	}
	var health activities.HealthResult
	if err := workflow.ExecuteActivity(actx, chg.CollectHealth, activities.HealthRequest{
		Apps: apps, From: from, To: to, Before: before}).Get(ctx, &health); err != nil {
		cp.Error = errMessage(err)
		return cp
	}
	cp.Apps = health.Apps
	if w.role == nil {
		var r roles.Role
		if err := workflow.ExecuteLocalActivity(lactx, gw.ResolveRole, ChangeRole).Get(ctx, &r); err != nil {
			cp.Error = errMessage(err)
			return cp
		}
		w.role = &r
	}
	ct := change.Task{Deployment: w.in.Deployment.ID, Checkpoint: lbl, Apps: health.Apps}
	answer, err := CallRole(ctx, RoleCallInput{
		Role: *w.role, Client: w.in.Client, Subject: "deployment/" + w.in.Deployment.ID,
		Messages: []llm.Message{{Role: "user", Content: fmt.Sprintf("Deployment %s (version %s), checkpoint %s.\n\n%s",
			w.in.Deployment.ID, w.in.Deployment.Version, lbl, health.Prompt)}},
		Task:  &llm.Task{Kind: change.TaskVerdict, Data: ct},
		Vault: w.vault,
	})
	w.vault = answer.Vault
	if err != nil {
		cp.Error = errMessage(err)
		return cp
	}
	cp.Link = answer.Provider + "/" + answer.Model
	var v change.Verdict
	if err := workflow.ExecuteLocalActivity(lactx, chg.ParseVerdict, answer.Text).Get(ctx, &v); err != nil {
		cp.Error = errMessage(err)
		return cp
	}
	// Numbers first: the model judges within what the engine found (a regression is never
	// STABLE, missing data never healthy); a disagreement stays on the verdict.
	v = change.Bound(ct, v)
	cp.Verdict = &v
	w.setState(ctx, v.State)
	cp.Enrichments = w.enrich(w.enrichCtx(ctx), cp, apps, changedAt)
	return cp
}

// changeStart is when the change began: the "started" event's time, else the planned time, and
// never after the finish.
func (w *changeWorkflow) changeStart(finish time.Time) time.Time {
	start := w.in.Deployment.PlannedAt
	if w.st.StartedAt != nil {
		start = *w.st.StartedAt
	}
	if start.After(finish) {
		start = finish
	}
	return start
}

// enrich runs the further queries for every metric kind the verdict names, per application.
func (w *changeWorkflow) enrich(ctx workflow.Context, cp Checkpoint, apps []change.Application, changedAt time.Time) []change.Enrichment {
	var chg *activities.Change
	req := activities.EnrichRequest{From: cp.From, To: cp.To, Change: changedAt}
	for _, av := range cp.Verdict.Applications {
		if av.State == "STABLE" || len(av.Metric) == 0 {
			continue
		}
		ea := activities.EnrichApp{App: change.Application{ID: change.AppID(av.ApplicationID), Name: av.Name}}
		for _, k := range av.Metric {
			if !slices.Contains(ea.Kinds, k) {
				ea.Kinds = append(ea.Kinds, k)
			}
		}
		for _, ca := range cp.Apps {
			if ca.Name != av.Name {
				continue
			}
			ea.App.ID = change.AppID(ca.ID)
			for _, f := range ca.Findings {
				if f.Verdict == compare.Degraded && slices.Contains(ea.Kinds, f.Kind) && !slices.Contains(ea.Degraded, f.Metric) {
					ea.Degraded = append(ea.Degraded, f.Metric)
				}
			}
		}
		if !containsApp(apps, av.Name) {
			continue // the role named an application this check was not about
		}
		req.Apps = append(req.Apps, ea)
	}
	if len(req.Apps) == 0 {
		return nil
	}
	var out []change.Enrichment
	if err := workflow.ExecuteActivity(ctx, chg.Enrich, req).Get(ctx, &out); err != nil {
		return []change.Enrichment{{App: "*", Errors: []string{"enrichment failed: " + errMessage(err)}}}
	}
	return out
}

// enrichCtx gives the enrichment, which runs every further query of every application named,
// more time than one check's activities; it heartbeats.
func (w *changeWorkflow) enrichCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute, HeartbeatTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	})
}

func containsApp(apps []change.Application, name string) bool {
	for _, a := range apps {
		if a.Name == name {
			return true
		}
	}
	return false
}

// save writes the deployment's state to the store. Each save sends the header and only the
// checkpoints not saved yet (a checkpoint is final once saved), so that the history does not
// grow with the square of the checkpoints; the activity merges them into the stored record.
// Sequence numbers start from the run's start time, so that a later run's saves win over an
// earlier run's and a late retry never overwrites a newer state. A failed save is logged and
// its checkpoints sent again with the next: the workflow's query still answers meanwhile.
func (w *changeWorkflow) save(ctx workflow.Context) {
	var chg *activities.Change
	info := workflow.GetInfo(ctx)
	w.seq++
	names := make([]string, len(w.in.Deployment.Applications))
	for i, app := range w.in.Deployment.Applications {
		names[i] = app.Name
	}
	state := ""
	for i := len(w.st.Checkpoints) - 1; i >= 0 && state == ""; i-- {
		if v := w.st.Checkpoints[i].Verdict; v != nil {
			state = v.State
		}
	}
	header := w.st
	header.Checkpoints = nil
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 10},
	})
	// The state travels typed and arrives as JSON (activities.SaveDeploymentRequest).
	err := workflow.ExecuteActivity(actx, chg.SaveDeployment, struct {
		Record      store.Deployment `json:"record"`
		State       DeploymentState  `json:"state"`
		From        int              `json:"from"`
		Checkpoints []Checkpoint     `json:"checkpoints"`
	}{store.Deployment{
		ID: w.in.Deployment.ID, WorkflowID: info.WorkflowExecution.ID, Version: w.in.Deployment.Version,
		PlannedAt: w.in.Deployment.PlannedAt, Applications: names, Status: w.st.Status, Gate: w.st.Gate.Decision,
		State: state, Seq: int(info.WorkflowStartTime.UnixMilli())*1000 + w.seq,
	}, header, w.saved, w.st.Checkpoints[w.saved:]}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("save deployment", "deployment", w.in.Deployment.ID, "error", err)
		return
	}
	w.saved = len(w.st.Checkpoints)
}

func (w *changeWorkflow) setState(ctx workflow.Context, s string) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrState.ValueSet(s))
}

// notifyHold pushes a hold to every notify channel, once per deployment and channel, with the
// data of the pre-checks that held.
func (w *changeWorkflow) notifyHold(ctx workflow.Context, held []Checkpoint) {
	d := w.in.Deployment
	text := fmt.Sprintf("The pre-check of deployment %s (version %s) says hold:\n", d.ID, d.Version)
	for _, r := range w.st.Gate.Reasons {
		text += "- " + r + "\n"
	}
	msg := notify.Message{
		IncidentID: DeploymentWorkflowID(d.ID) + "/" + workflow.GetInfo(ctx).FirstRunID + "/hold",
		Title:      fmt.Sprintf("[hold] deployment %s", d.ID), Text: text, Severity: "warning", Status: GateHold,
	}
	for _, cp := range held {
		msg.Text += "\n" + enrichmentText(cp.Enrichments)
	}
	msg.Data = checkpointData(d, held[len(held)-1])
	msg.URL = deploymentPath(d.ID)
	delivered := deliverAll(ctx, msg)
	if len(w.st.Checkpoints) > 0 {
		w.st.Checkpoints[len(w.st.Checkpoints)-1].Notified = delivered
	}
}

// gateOf turns a pre-check into its gate answer: proceed only on a verdict that says STABLE —
// and that names every application checked, each STABLE or with nothing collected
// before the deployment at all (a new service: nothing to check, said in the reasons).
func gateOf(cp Checkpoint, now time.Time, apps []change.Application) GateAnswer {
	g := GateAnswer{Decision: GateHold, CheckedAt: now}
	switch {
	case cp.Verdict == nil:
		g.Reasons = []string{"the pre-check did not complete: " + cp.Error}
	default:
		var holds, notes []string
		for _, app := range cp.Verdict.Applications {
			switch {
			case app.State == "STABLE":
			case app.State == "MOSTLY_STABLE" && nothingCollected(cp.Apps, app.Name):
				notes = append(notes, fmt.Sprintf("%s has no metrics before the deployment (a new service?): nothing to check", app.Name))
			default:
				holds = append(holds, fmt.Sprintf("%s is %s: %s", app.Name, app.State, app.Comment))
			}
		}
		for _, app := range apps {
			if !verdictNames(cp.Verdict, app.Name) {
				holds = append(holds, fmt.Sprintf("%s was not judged by the pre-check", app.Name))
			}
		}
		switch {
		case len(holds) > 0:
			g.Reasons = holds
		case cp.Verdict.State != "STABLE" && len(notes) == 0:
			g.Reasons = []string{cp.Verdict.Comment}
		default:
			g.Decision, g.Reasons = GateProceed, notes
		}
	}
	return g
}

// nothingCollected reports whether the findings of app hold no data at all, now or in either
// baseline.
func nothingCollected(apps []change.App, name string) bool {
	for _, a := range apps {
		if a.Name == name {
			return len(a.Findings) > 0 && !compare.Judge(a.Findings).Collected
		}
	}
	return false
}

func allStable(v *change.Verdict, apps []change.Application) bool {
	for _, app := range apps {
		if !verdictNames(v, app.Name) {
			return false
		}
	}
	for _, a := range v.Applications {
		if a.State != "STABLE" {
			return false
		}
	}
	return true
}

func verdictNames(v *change.Verdict, name string) bool {
	for _, a := range v.Applications {
		if a.Name == name {
			return true
		}
	}
	return false
}

// deploymentPath is the API path of a deployment, for links in notifications.
func deploymentPath(id string) string { return "/v1/deployments/" + url.PathEscape(id) }

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
