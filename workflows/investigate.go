package workflows

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
)

// Defaults of InvestigationOptions.
const (
	// DefaultLookBack is how far before the alert deployments are looked for.
	DefaultLookBack = 6 * time.Hour
	// DefaultHealthWindow is how much before the alert's start (and at most how much after it)
	// the application's metrics are compared with their baselines.
	DefaultHealthWindow = 30 * time.Minute
	// DefaultOnsetLookBack is how far before the window the metrics are read as well, to date
	// when the regression behind the alert began (not judged).
	DefaultOnsetLookBack = 2 * time.Hour
)

// Time budgets of the investigation's parts: a part that runs out of time is named in the report
// as failed; it never fails the incident.
const (
	changesBudget = time.Minute
	githubBudget  = time.Minute
	healthBudget  = 3 * time.Minute
	tablesBudget  = 2 * time.Minute
	traceBudget   = 2 * time.Minute
)

// InvestigationOptions tune the investigation of an alert's application; zero values are the
// defaults.
type InvestigationOptions struct {
	// Disabled skips the investigation (the report rests on the profile alone).
	Disabled bool `json:"disabled,omitempty"`
	// LookBack is how far before the alert Vigil's deployment records are read (DefaultLookBack).
	LookBack time.Duration `json:"lookBack,omitempty"`
	// Window is how much before the alert's start the metrics are compared (DefaultHealthWindow).
	Window time.Duration `json:"window,omitempty"`
	// GitHubRepositories maps an application to the GitHub repository (owner/name) whose
	// deployments are among its recent changes besides Vigil's records.
	GitHubRepositories map[string]string `json:"githubRepositories,omitempty"`
	// GitHubEnvironment restricts those deployments to one environment ("": all).
	GitHubEnvironment string `json:"githubEnvironment,omitempty"`
}

// investigate gathers what Vigil knows about the alert's application around the alert, each part
// an activity with its own time budget, in parallel where they do not depend on each other:
//   - recent changes: Vigil's deployment records of the application in the look-back, with
//     their latest verdicts (RecentChanges), and, where a GitHub repository is configured for
//     the application, its GitHub deployments in the same look-back (GitHubChanges); a
//     deployment seen both ways (the record a GitHub webhook made, or one whose version is the
//     commit) counts once, as Vigil's record;
//   - health: the application's metrics from Window before the alert's start to now (at most
//     Window after the start) against the same window 1 d and 1 w earlier — the change-tracking
//     engine and templates (CollectHealth);
//     and, read but not judged, the DefaultOnsetLookBack before the window, to date when the
//     regression began;
//   - the enrichment tables of the kinds that regressed (Enrich);
//   - a real request's trace: the failing (else slowest) exemplar of the application's latency
//     series, its trace fetched from the trace sources and run through the detectors
//     (ExemplarTrace).
//
// The health and the enrichment tables are change tracking's own activities (activities.Change):
// the investigation reuses CollectHealth and Enrich rather than holding a copy of them.
//
// A part that fails is named in the result; the others are kept. It returns nil when the alert
// names no application or the investigation is disabled.
func (w *incidentWorkflow) investigate(ctx workflow.Context) *analyst.Investigation {
	var inc *activities.Incident
	var chg *activities.Change
	al, opt := w.in.Alert, w.in.Investigation
	app := strings.TrimSpace(al.Application)
	if opt.Disabled || app == "" {
		return nil
	}
	lookBack := cmp.Or(opt.LookBack, DefaultLookBack)
	window := cmp.Or(opt.Window, DefaultHealthWindow)
	now := workflow.Now(ctx)
	start := al.StartsAt
	if start.IsZero() || start.After(now) {
		start = now
	}
	to := now
	if to.After(start.Add(window)) {
		to = start.Add(window) // an alert investigated late: the window around its start
	}
	from := start.Add(-window)
	inv := &analyst.Investigation{Application: app, At: start, LookBack: lookBack, From: from, To: to,
		OnsetFrom: from.Add(-DefaultOnsetLookBack)}
	app1 := []change.Application{{Name: app}}

	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 20 * time.Second, ScheduleToCloseTimeout: changesBudget,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{activities.ErrTypeNoStore}},
	})
	// CollectHealth reports an unreachable Prometheus as missing data from its third attempt on.
	hctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: healthBudget,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	})
	changes := workflow.ExecuteActivity(cctx, inc.RecentChanges, activities.ChangesRequest{Application: app, From: start.Add(-lookBack), To: now})
	health := workflow.ExecuteActivity(hctx, chg.CollectHealth, activities.HealthRequest{Apps: app1, From: from, To: to, Lead: DefaultOnsetLookBack})
	tctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: traceBudget,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 2},
	})
	trace := workflow.ExecuteActivity(tctx, inc.ExemplarTrace, activities.ExemplarRequest{Application: app, From: from, To: to})
	var github workflow.Future
	if repo := opt.GitHubRepositories[app]; repo != "" {
		inv.GitHub = repo
		gctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: githubBudget,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
				NonRetryableErrorTypes: []string{activities.ErrTypeRepoRejected}},
		})
		github = workflow.ExecuteActivity(gctx, inc.GitHubChanges, activities.GitHubChangesRequest{Application: app, Repository: repo,
			Environment: opt.GitHubEnvironment, From: start.Add(-lookBack), To: now})
	}
	if err := changes.Get(ctx, &inv.Changes); err != nil {
		inv.Failed = append(inv.Failed, analyst.PartFailure{Part: analyst.PartChanges, Error: partError(err)})
	}
	if github != nil {
		var gh []analyst.Change
		if err := github.Get(ctx, &gh); err != nil {
			inv.Failed = append(inv.Failed, analyst.PartFailure{Part: analyst.PartGitHub, Error: partError(err)})
		}
		inv.Changes = mergeChanges(inv.Changes, gh)
	}
	var hr activities.HealthResult
	if err := health.Get(ctx, &hr); err != nil {
		inv.Failed = append(inv.Failed, analyst.PartFailure{Part: analyst.PartHealth, Error: partError(err)})
	}
	for _, ca := range hr.Apps {
		inv.Health = append(inv.Health, ca.Findings...)
	}
	if err := trace.Get(ctx, &inv.Trace); err != nil {
		inv.Failed = append(inv.Failed, analyst.PartFailure{Part: analyst.PartTrace, Error: partError(err)})
	}

	var kinds []string
	for _, f := range inv.Health {
		if f.Verdict == compare.Degraded && !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	if len(kinds) == 0 {
		inv.TablesSkipped = true
		return inv
	}
	ectx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: tablesBudget,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 2},
	})
	var out []change.Enrichment
	err := workflow.ExecuteActivity(ectx, chg.Enrich, activities.EnrichRequest{
		Apps: []activities.EnrichApp{{App: app1[0], Kinds: kinds}}, From: from, To: to}).Get(ctx, &out)
	if err != nil {
		inv.Failed = append(inv.Failed, analyst.PartFailure{Part: analyst.PartTables, Error: partError(err)})
		return inv
	}
	var errs []string
	for _, e := range out {
		inv.Tables = append(inv.Tables, e.Tables...)
		errs = append(errs, e.Errors...)
	}
	if len(errs) > 0 {
		inv.Failed = append(inv.Failed, analyst.PartFailure{Part: analyst.PartTables, Error: strings.Join(errs, "; ")})
	}
	return inv
}

// partError is the message of a part's failure, without an empty error type.
func partError(err error) string {
	return strings.TrimPrefix(errMessage(err), ": ")
}

// mergeChanges adds to Vigil's deployment records the GitHub deployments it has no record of (the
// same ID, which a GitHub webhook's record has, or a version that is the deployment's commit),
// newest first.
func mergeChanges(vigil, github []analyst.Change) []analyst.Change {
	out := slices.Clone(vigil)
	for _, g := range github {
		if !slices.ContainsFunc(vigil, func(v analyst.Change) bool { return sameDeployment(v, g) }) {
			out = append(out, g)
		}
	}
	slices.SortStableFunc(out, func(x, y analyst.Change) int { return y.At.Compare(x.At) })
	return out
}

// sameDeployment reports whether Vigil's record v is GitHub's deployment g: the ID a GitHub
// webhook gives its record, or a version that is g's commit SHA (at least 7 hex digits of it).
func sameDeployment(v, g analyst.Change) bool {
	if v.ID == g.ID {
		return true
	}
	ver := strings.ToLower(strings.TrimSpace(v.Version))
	return len(ver) >= 7 && g.SHA != "" && strings.HasPrefix(strings.ToLower(g.SHA), ver) &&
		strings.Trim(ver, "0123456789abcdef") == ""
}
