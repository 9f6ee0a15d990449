package workflows

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/incident"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/roles"
)

// IncidentRole is the role that writes incident reports.
const IncidentRole = "alert-analyst"

// QueryIncidentState is the query that returns an IncidentWorkflow's IncidentState.
const QueryIncidentState = "state"

// Incident statuses.
const (
	IncidentRunning   = "running"
	IncidentCompleted = "completed"
	IncidentFailed    = "failed"
)

// IncidentInput starts an IncidentWorkflow.
type IncidentInput struct {
	Alert  profile.Alert `json:"alert"`
	Client string        `json:"client"`
	// GroupKey names the alert group (Alertmanager's groupKey) the incident investigates; empty
	// for a single alert.
	GroupKey string `json:"group_key,omitempty"`
	// Window is how long alerts of the group are collected (SignalAlert) before the
	// investigation starts; 0 investigates at once.
	Window time.Duration `json:"window,omitempty"`
	// Lifetime keeps the incident open after its report, folding resends and later alerts of the
	// group into it and marking it resolved when every alert is resolved; 0 ends it with the
	// report. While alerts are still firing when it runs out, the incident continues as new.
	Lifetime time.Duration `json:"lifetime,omitempty"`
	// Carry is the state of a reported incident that continued as new; nil for a new incident.
	Carry *IncidentCarry `json:"carry,omitempty"`
	// Investigation tunes the investigation of the alert's application (investigate).
	Investigation InvestigationOptions `json:"investigation,omitzero"`
}

// IncidentCarry is what an incident hands to its next run when it continues as new: the report
// is written, so the next run only follows the group's alerts.
type IncidentCarry struct {
	Group  []incident.GroupAlert `json:"group"`
	Record incident.Record       `json:"record"`
	Result IncidentResult        `json:"result"`
	Vault  *mask.Vault           `json:"vault,omitempty"`
	// AskedSeverity is the severity the on-call was last asked about (see page): without it the
	// next run would ask again for the first alert that joins.
	AskedSeverity int `json:"askedSeverity,omitempty"`
}

// SignalAlerts is the signal an IncidentWorkflow receives: an AlertsSignal, one per
// notification of the incident's group (sent by signal-with-start when it has firing alerts),
// however many alerts it holds.
const SignalAlerts = "alerts"

// AlertsSignal carries one notification of the incident's group: the alerts firing in it and
// the fingerprints of those resolved in it.
type AlertsSignal struct {
	Firing   []incident.GroupAlert `json:"firing,omitempty"`
	Resolved []string              `json:"resolved,omitempty"`
}

// IncidentResolved is the status of an incident whose alerts are all resolved.
const IncidentResolved = "resolved"

// IncidentState is what the workflow exposes through QueryIncidentState.
type IncidentState struct {
	Status   string `json:"status"`
	Step     string `json:"step"`
	Report   string `json:"report,omitempty"`
	Language string `json:"language,omitempty"`
	Error    string `json:"error,omitempty"`
}

// IncidentResult is the workflow's result.
type IncidentResult struct {
	Status   string         `json:"status"`
	Report   string         `json:"report"`
	Language string         `json:"language"`
	Answer   RoleCallResult `json:"answer"`
}

// IncidentWorkflow writes the incident report for one alert:
//  1. records the incident as running (visible at GET /v1/incidents/{id} at once);
//  2. runs the deterministic profile detectors (facts with numbers);
//  3. asks the role alert-analyst for the four-section report (CallRole, inline; the chain ends
//     with the built-in analyst, so a report is written when no LLM answers);
//  4. stores the report and marks the incident completed.
//
// The workflow ID comes from the alert's identity (IncidentWorkflowID), so a resent alert
// joins this run instead of producing a second report.
//
// For an alert group (Alertmanager), the workflow first collects the group's alerts for Window
// (signal-with-start folds a storm into this one run; resends are recognised by fingerprint and
// start time), then investigates the first one, and stays open for Lifetime: later alerts of the
// group are added to the incident without another report, and when every alert is resolved the
// incident is marked resolved.
func IncidentWorkflow(ctx workflow.Context, in IncidentInput) (IncidentResult, error) {
	w := &incidentWorkflow{in: in, state: IncidentState{Status: IncidentRunning, Step: "starting"},
		seen: map[string]int{}}
	if err := w.setup(ctx); err != nil {
		return IncidentResult{}, err
	}
	if c := in.Carry; c != nil {
		for _, g := range c.Group {
			w.seen[g.Fingerprint+"@"+g.StartsAt.UTC().Format(time.RFC3339)] = len(w.group)
			w.group = append(w.group, g)
		}
		w.record, w.vault, w.askedSeverity = c.Record, c.Vault, c.AskedSeverity
		w.state = IncidentState{Status: c.Result.Status, Step: "following the group's alerts", Report: c.Result.Report, Language: c.Result.Language}
		return w.follow(ctx, c.Result)
	}
	w.addAlert(in.Alert)
	if in.Window > 0 {
		w.state.Step = "collecting the group's alerts"
		w.collect(ctx, in.Window)
	}
	res, err := w.run(ctx)
	if err != nil || in.Lifetime <= 0 {
		return res, err
	}
	return w.follow(ctx, res)
}

// alertKey is an alert's identity: the same alert resent has the same key.
func alertKey(a profile.Alert) string {
	fp := a.Fingerprint
	if fp == "" {
		fp = a.ComputeFingerprint()
	}
	return fp + "@" + a.StartsAt.UTC().Format(time.RFC3339)
}

// addAlert records an alert of the group once; it reports whether the alert is new.
func (w *incidentWorkflow) addAlert(a profile.Alert) bool {
	return w.addGroupAlert(alertKey(a), incident.GroupAlertOf(a))
}

func (w *incidentWorkflow) addGroupAlert(k string, g incident.GroupAlert) bool {
	if _, ok := w.seen[k]; ok {
		return false
	}
	w.seen[k] = len(w.group)
	g.Status = "firing"
	w.group = append(w.group, g)
	return true
}

// addFiring records a notification's firing alerts; it reports whether any is new.
func (w *incidentWorkflow) addFiring(s AlertsSignal) bool {
	changed := false
	for _, g := range s.Firing {
		changed = w.addGroupAlert(g.Fingerprint+"@"+g.StartsAt.UTC().Format(time.RFC3339), g) || changed
	}
	return changed
}

// apply folds a notification into the group, firing alerts first; it reports whether
// anything changed.
func (w *incidentWorkflow) apply(s AlertsSignal) bool {
	changed := w.addFiring(s)
	return w.resolve(s.Resolved) || changed
}

// collect folds the alerts that arrive within the window into this incident.
func (w *incidentWorkflow) collect(ctx workflow.Context, window time.Duration) {
	alerts := workflow.GetSignalChannel(ctx, SignalAlerts)
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, window)
	for done := false; !done; {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) { done = true })
		sel.AddReceive(alerts, func(c workflow.ReceiveChannel, _ bool) {
			var s AlertsSignal
			c.Receive(ctx, &s)
			w.addFiring(s)
			// A resolution that arrives before the report is looked at once the report is
			// written (follow), as if it arrived then.
			w.resolvedEarly = w.resolve(s.Resolved) || w.resolvedEarly
		})
		sel.Select(ctx)
	}
}

// follow keeps the incident open after its report: later alerts of the group join it, resolved
// notifications close it.
func (w *incidentWorkflow) follow(ctx workflow.Context, res IncidentResult) (IncidentResult, error) {
	var inc *activities.Incident
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	alerts := workflow.GetSignalChannel(ctx, SignalAlerts)
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	expired := workflow.NewTimer(tctx, w.in.Lifetime)
	w.state.Step = "following the group's alerts"
	for {
		changed, over := w.resolvedEarly, false
		if w.resolvedEarly {
			w.resolvedEarly = false
		} else {
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(expired, func(workflow.Future) { over = true })
			sel.AddReceive(alerts, func(c workflow.ReceiveChannel, _ bool) {
				var s AlertsSignal
				c.Receive(ctx, &s)
				changed = w.apply(s)
			})
			sel.Select(ctx)
		}
		allResolved := len(w.group) > 0
		for _, g := range w.group {
			allResolved = allResolved && g.Status == "resolved"
		}
		if allResolved {
			w.record.Status, w.state.Status, res.Status = IncidentResolved, IncidentResolved, IncidentResolved
		}
		if rank, _ := w.groupSeverity(); changed && !allResolved && w.record.Details != nil && w.record.Details.OnCall == "" &&
			rank > w.askedSeverity {
			// A more severe alert joined after the report: it may call for a page now.
			w.record.Details.OnCall = w.page(ctx, res.Report)
		}
		if changed || allResolved {
			w.record.Details.Group = append([]incident.GroupAlert(nil), w.group...)
			if err := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, w.record).Get(ctx, nil); err != nil {
				return res, err
			}
		}
		if allResolved || over || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Take in whatever arrived meanwhile before deciding: a signal must not be dropped.
			if w.drain(alerts) {
				w.record.Details.Group = append([]incident.GroupAlert(nil), w.group...)
				if err := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, w.record).Get(ctx, nil); err != nil {
					return res, err
				}
				continue // the group changed: decide again
			}
		}
		if allResolved {
			_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrState.ValueSet(IncidentResolved))
			w.state.Step = "resolved"
			if w.record.Details != nil && w.record.Details.OnCall != "" {
				// Stop paging: nobody needs to be woken for an incident that is over. The page
				// may have ended already; that is not an error here.
				err := workflow.SignalExternalWorkflow(ctx, w.record.Details.OnCall, "", SignalIncidentResolved, nil).Get(ctx, nil)
				if err != nil {
					workflow.GetLogger(ctx).Info("on-call not told of the resolution", "oncall", w.record.Details.OnCall, "error", err)
				}
			}
			return res, nil
		}
		if over || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Alerts are still firing: the incident stays open in a fresh run, without a new report.
			next := w.in
			next.Carry = &IncidentCarry{Group: w.group, Record: w.record, Result: res, Vault: w.vault, AskedSeverity: w.askedSeverity}
			return res, workflow.NewContinueAsNewError(ctx, IncidentWorkflow, next)
		}
	}
}

// drain folds the signals already waiting into the group; it reports whether anything changed.
func (w *incidentWorkflow) drain(alerts workflow.ReceiveChannel) bool {
	changed := false
	for {
		var s AlertsSignal
		if !alerts.ReceiveAsync(&s) {
			break
		}
		changed = w.apply(s) || changed
	}
	return changed
}

// resolve marks the named alerts resolved; it reports whether any was still firing.
func (w *incidentWorkflow) resolve(fingerprints []string) bool {
	if len(fingerprints) == 0 {
		return false
	}
	// One pass over the group (a storm resolves thousands at once); the map is only looked
	// up, never iterated.
	resolved := make(map[string]bool, len(fingerprints))
	for _, fp := range fingerprints {
		resolved[fp] = true
	}
	changed := false
	for i := range w.group {
		if resolved[w.group[i].Fingerprint] && w.group[i].Status != "resolved" {
			w.group[i].Status, changed = "resolved", true
		}
	}
	return changed
}

type incidentWorkflow struct {
	in    IncidentInput
	state IncidentState
	id    string
	// vault is the incident's masking scope, kept across every LLM step of the incident.
	vault *mask.Vault
	// group holds the group's alerts in arrival order; seen indexes them by alertKey.
	group []incident.GroupAlert
	seen  map[string]int
	// resolvedEarly is set when alerts were resolved while the group was being collected.
	resolvedEarly bool

	record incident.Record
	// askedSeverity is the severity the on-call was last asked about: a later alert asks again
	// only when it raises the group's severity (not once per alert of a storm).
	askedSeverity int
}

// severityRank orders severities for paging; unknown ones rank lowest.
var severityRank = map[string]int{"info": 1, "warning": 2, "critical": 3}

// groupSeverity is the rank and name of the most severe firing alert of the incident.
func (w *incidentWorkflow) groupSeverity() (int, string) {
	sev := strings.ToLower(w.in.Alert.Severity)
	for _, g := range w.group {
		if g.Status == "firing" && severityRank[strings.ToLower(g.Severity)] > severityRank[sev] {
			sev = strings.ToLower(g.Severity)
		}
	}
	return severityRank[sev], sev
}

func (w *incidentWorkflow) setup(ctx workflow.Context) error {
	w.id = workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.SetQueryHandler(ctx, QueryIncidentState, func() (IncidentState, error) {
		return w.state, nil
	}); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx,
		SearchAttrKind.ValueSet("incident"),
		SearchAttrApplication.ValueSet(w.in.Alert.Application),
		SearchAttrRule.ValueSet(w.in.Alert.Rule),
		SearchAttrState.ValueSet(IncidentRunning),
	)
}

func (w *incidentWorkflow) run(ctx workflow.Context) (IncidentResult, error) {
	var gw *activities.Gateway
	var inc *activities.Incident
	// The store writes, the analysis and the role lookup are cheap and local to the worker: they
	// run as local activities, inside the workflow task, instead of costing a round trip through
	// the server each (see the latency figures in docs/benchmarks.md).
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeRoleNotFound},
		},
	})
	record := incident.Record{
		WorkflowID: w.id,
		RunID:      workflow.GetInfo(ctx).WorkflowExecution.RunID,
		Alert:      w.in.Alert,
		Status:     IncidentRunning,
	}
	// An alert that carries only a trace ID: fetch the profile behind it first.
	if w.in.Alert.Profile == nil && w.in.Alert.TraceID != "" {
		w.state.Step = "fetching the trace"
		fctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5,
				NonRetryableErrorTypes: []string{activities.ErrTypeTraceNotFound}},
		})
		var p *profile.Profile
		if err := workflow.ExecuteActivity(fctx, inc.FetchProfile, w.in.Alert.TraceID).Get(ctx, &p); err != nil {
			// No profile is not fatal: the report says the cause could not be analysed.
			workflow.GetLogger(ctx).Warn("trace not available", "trace_id", w.in.Alert.TraceID, "error", err)
		} else if p != nil {
			w.in.Alert.Profile, record.Alert.Profile = p, p
		}
	}
	// Record, analyse and resolve the role at once: none depends on another.
	w.state.Step = "analyzing"
	saved := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, record)
	analyzed := workflow.ExecuteLocalActivity(actx, inc.AnalyzeAlert, w.in.Alert)
	resolved := workflow.ExecuteLocalActivity(actx, gw.ResolveRole, IncidentRole)
	if err := saved.Get(ctx, nil); err != nil {
		return IncidentResult{}, err
	}
	var analysis activities.Analysis
	if err := analyzed.Get(ctx, &analysis); err != nil {
		return w.fail(ctx, actx, record, err)
	}
	var role roles.Role
	if err := resolved.Get(ctx, &role); err != nil {
		return w.fail(ctx, actx, record, err)
	}
	lang := role.Language
	if lang == "" {
		lang = "en"
	}

	// What Vigil knows around the alert: recent deployments, metrics against their baselines,
	// endpoint tables. For an alert without a profile the report rests on it; with a profile it
	// is context. A failed part is named in it, never fatal.
	w.state.Step = "investigating"
	prompt := analysis.Prompt
	inv := w.investigate(ctx)
	if inv != nil {
		var text string
		if err := workflow.ExecuteLocalActivity(actx, inc.InvestigationPrompt, activities.InvestigationPromptRequest{
			Alert: w.in.Alert, Investigation: inv}).Get(ctx, &text); err != nil {
			return w.fail(ctx, actx, record, err)
		}
		prompt += "\n" + text
	}

	w.state.Step = "writing report"
	// The role call runs inline: its link activities and their retries appear in this
	// workflow's history. A child RoleCallWorkflow would cost ~200 ms more per report on the
	// embedded server (docs/benchmarks.md) and buys nothing here.
	answer, err := CallRole(ctx, RoleCallInput{
		Role:    role,
		Client:  w.in.Client,
		Subject: w.in.Alert.Rule + "/" + w.in.Alert.Application,
		Messages: []llm.Message{{Role: "user", Content: fmt.Sprintf(
			"Write the incident report in language %q.\n\n%s", lang, prompt)}},
		Task: &llm.Task{Kind: analyst.TaskIncidentReport, Data: analyst.IncidentTask{
			Alert: &w.in.Alert, Facts: analysis.Facts, Language: lang, Investigation: inv,
		}},
		Expect: analyst.TaskIncidentReport,
		Vault:  w.vault,
	})
	w.vault = answer.Vault
	if err != nil {
		return w.fail(ctx, actx, record, err)
	}

	w.state.Step = "storing report"
	record.Status, record.Report, record.Language = IncidentCompleted, answer.Text, lang
	record.Details = &incident.Details{
		Facts: analysis.Facts, Investigation: inv, Provider: answer.Provider, Model: answer.Model, LinkIndex: answer.LinkIndex,
		Attempts: answer.Attempts, RoleVersion: answer.RoleVersion, Failures: answer.Failures,
	}
	if len(w.group) > 1 {
		record.Details.Group = append([]incident.GroupAlert(nil), w.group...)
	}
	if err := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, record).Get(ctx, nil); err != nil {
		return IncidentResult{}, err
	}
	w.state.Step = "delivering"
	if w.deliver(ctx, &record, answer.Text) {
		if err := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, record).Get(ctx, nil); err != nil {
			return IncidentResult{}, err
		}
	}
	if id := w.page(ctx, answer.Text); id != "" {
		record.Details.OnCall = id
		if err := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, record).Get(ctx, nil); err != nil {
			return IncidentResult{}, err
		}
	}
	w.record = record
	w.state = IncidentState{Status: IncidentCompleted, Step: "done", Report: answer.Text, Language: lang}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrState.ValueSet(IncidentCompleted))
	return IncidentResult{Status: IncidentCompleted, Report: answer.Text, Language: lang, Answer: answer}, nil
}

// page hands the incident to the on-call when its severity and application call for it: an
// OnCallWorkflow (one per incident episode) that outlives this one. It returns the on-call's
// workflow ID, or "" when there is nobody to page or the start failed (logged, never fatal).
func (w *incidentWorkflow) page(ctx workflow.Context, report string) string {
	var oc *activities.OnCall
	al := w.in.Alert
	// A group is as severe as its most severe alert: a critical alert that joined a warning's
	// group pages too.
	rank, sev := w.groupSeverity()
	if rank > severityRank[strings.ToLower(al.Severity)] {
		al.Severity = sev
	}
	w.askedSeverity = max(rank, severityRank[strings.ToLower(al.Severity)])
	lactx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var enabled bool
	if err := workflow.ExecuteLocalActivity(lactx, oc.OnCallEnabled, al.Severity, al.Application).Get(ctx, &enabled); err != nil || !enabled {
		return ""
	}
	id := OnCallWorkflowID(w.id + "/" + workflow.GetInfo(ctx).FirstRunID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	child := workflow.ExecuteChildWorkflow(cctx, OnCallWorkflow, OnCallInput{
		IncidentID: w.id, Application: al.Application, Rule: al.Rule, Severity: al.Severity,
		Summary: reportSummary(report), Client: w.in.Client,
	})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("start the on-call", "incident", w.id, "error", err)
		return ""
	}
	return id
}

// reportSummary is the first section of a report (under its first heading), or its start.
func reportSummary(report string) string {
	lines := strings.Split(strings.TrimSpace(report), "\n")
	var out []string
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			if i == 0 {
				continue
			}
			break
		}
		out = append(out, t)
	}
	s := strings.TrimSpace(strings.Join(out, " "))
	if r := []rune(s); len(r) > 1200 {
		s = string(r[:1200])
	}
	return s
}

// deliver sends the report on every configured channel, in parallel, each delivery once (the
// activity keeps a record per incident and channel). A channel that fails does not fail the
// incident: the report is stored and the failure is in the incident's details. It reports
// whether the record changed.
func (w *incidentWorkflow) deliver(ctx workflow.Context, record *incident.Record, report string) bool {
	al := w.in.Alert
	// A group's incident ID outlives one episode (the group fires, resolves, fires again): the
	// delivery key is the episode's, its first run, so each episode is delivered once.
	states := deliverAll(ctx, notify.Message{
		IncidentID: w.id + "/" + workflow.GetInfo(ctx).FirstRunID, Text: report, Severity: al.Severity, Application: al.Application, Rule: al.Rule,
		Title:  fmt.Sprintf("[%s] %s on %s", al.Severity, al.Rule, al.Application),
		Status: IncidentCompleted, URL: incidentPath(w.id),
	})
	if len(states) == 0 {
		return false
	}
	record.Details.Deliveries = append(record.Details.Deliveries, states...)
	return true
}

// incidentPath is the incident's address in Vigil's API (the delivery makes it absolute with
// http.public_url).
func incidentPath(id string) string { return "/v1/incidents/" + url.PathEscape(id) }

// fail records the failure so the API shows it, then returns the original error.
func (w *incidentWorkflow) fail(ctx, actx workflow.Context, record incident.Record, cause error) (IncidentResult, error) {
	var inc *activities.Incident
	w.state.Status, w.state.Error = IncidentFailed, cause.Error()
	record.Status = IncidentFailed
	record.Details = &incident.Details{Error: cause.Error(), Step: w.state.Step}
	if err := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, record).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("record incident failure", "error", err)
	}
	// No report is no reason not to wake the person in charge of a critical alert.
	if id := w.page(ctx, w.in.Alert.Message+" (The incident report could not be written.)"); id != "" {
		record.Details.OnCall = id
		if err := workflow.ExecuteLocalActivity(actx, inc.SaveIncident, record).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("record incident failure", "error", err)
		}
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrState.ValueSet(IncidentFailed))
	return IncidentResult{Status: IncidentFailed}, cause
}
