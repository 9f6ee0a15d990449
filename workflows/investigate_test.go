package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/incident"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/promsource"
	"github.com/vigil-ops/vigil/roles"
)

// investigationEnv is an incident environment whose store writes and role lookup are mocked;
// it returns where the saved records and the role's prompts go.
func investigationEnv(t *testing.T) (*investigationFixture, func(IncidentInput) IncidentResult) {
	env, acts := newEnv(t)
	f := &investigationFixture{acts: acts}
	start := time.Date(2026, 12, 2, 3, 16, 0, 0, time.UTC)
	env.SetStartTime(start)
	f.start = start
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(func(_ context.Context, in incident.Record) error {
		f.saved = append(f.saved, in)
		return nil
	})
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(func(_ context.Context, code string) (roles.Role, error) {
		r, _ := roles.Default(code)
		return r, nil
	})
	f.env = env
	return f, func(in IncidentInput) IncidentResult {
		env.ExecuteWorkflow(IncidentWorkflow, in)
		require.True(t, env.IsWorkflowCompleted())
		require.NoError(t, env.GetWorkflowError())
		var res IncidentResult
		require.NoError(t, env.GetWorkflowResult(&res))
		return res
	}
}

type investigationFixture struct {
	env   *testsuite.TestWorkflowEnvironment
	acts  *testActs
	start time.Time
	saved []incident.Record
}

func errorRateAlert(start time.Time) profile.Alert {
	return profile.Alert{Rule: "HighErrorRate", Application: "checkout-api", Severity: "warning",
		Message: "5xx ratio above 5 % for 10 minutes", StartsAt: start.Add(-2 * time.Minute)}
}

func TestIncidentInvestigatesAlertWithoutProfile(t *testing.T) {
	f, run := investigationEnv(t)
	env := f.env
	alert := errorRateAlert(f.start)
	var changesReq activities.ChangesRequest
	var healthReq activities.HealthRequest
	var enrichReq activities.EnrichRequest
	env.OnActivity(f.acts.RecentChanges, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChangesRequest) ([]analyst.Change, error) {
		changesReq = in
		return []analyst.Change{{ID: "2026.12.02-3", Version: "2.4.1", At: alert.StartsAt.Add(-4 * time.Minute), Status: "watching"}}, nil
	})
	env.OnActivity(f.acts.CollectHealth, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.HealthRequest) (activities.HealthResult, error) {
		healthReq = in
		return activities.HealthResult{Apps: []change.App{{Name: "checkout-api", Findings: []compare.Finding{
			{Metric: "error_ratio", Kind: "TRANSACTION", Verdict: compare.Degraded, CurrentMedian: 0.072,
				Baselines: []compare.BaselineResult{{Name: "1d", Median: 0.005}, {Name: "1w", Median: 0.006}}},
			{Metric: "throughput", Kind: "TRANSACTION", Verdict: compare.Stable, CurrentMedian: 20,
				Baselines: []compare.BaselineResult{{Name: "1d", Median: 20}, {Name: "1w", Median: 21}}},
		}}}}, nil
	})
	env.OnActivity(f.acts.Enrich, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EnrichRequest) ([]change.Enrichment, error) {
		enrichReq = in
		return []change.Enrichment{{App: "checkout-api", Kinds: []string{"TRANSACTION"}, Tables: []promsource.Table{
			{Name: "top_failing_endpoints", Kind: "TRANSACTION", Rows: []promsource.Row{
				{Labels: map[string]string{"http_request_method": "POST", "http_route": "/api/checkout"}, Current: 14}}}}}}, nil
	})
	slow := exampleAlert(t, "slow-sql")
	env.OnActivity(f.acts.ExemplarTrace, mock.Anything, mock.Anything).Return(&analyst.ExemplarTrace{
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Endpoint: "POST /api/checkout", Status: "500", Failing: true, ValueMs: 4100,
		Facts: analyst.Detect(slow.Profile, analyst.Thresholds{})}, nil)
	var prompts []string
	env.OnActivity(f.acts.MaskTexts, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MaskRequest) (activities.MaskResult, error) {
		prompts = append(prompts, in.Texts...)
		return activities.MaskResult{Texts: in.Texts, Vault: in.Vault}, nil
	})

	res := run(IncidentInput{Alert: alert, Client: "test"})
	require.Equal(t, IncidentCompleted, res.Status)
	_, err := analyst.ParseReport(res.Report)
	require.NoError(t, err, res.Report)
	t.Log(res.Report)
	for _, want := range []string{"started 4 minutes after deployment 2026.12.02-3 (checkout-api 2.4.1)",
		"error ratio 7.2 % vs 0.5 % a day ago and 0.6 % a week ago", "POST /api/checkout 5xx ×14",
		"the failing trace 4bf92f35 (POST /api/checkout): Slow SQL"} {
		require.Contains(t, res.Report, want)
	}
	// The windows: deployments from 6 h before the alert, metrics from 30 min before it to now.
	require.Equal(t, alert.StartsAt.Add(-6*time.Hour), changesReq.From)
	require.Equal(t, alert.StartsAt.Add(-30*time.Minute), healthReq.From)
	require.Equal(t, f.start, healthReq.To)
	require.Equal(t, []string{"TRANSACTION"}, enrichReq.Apps[0].Kinds)
	// The role gets the same facts (through the masking step).
	require.NotEmpty(t, prompts)
	require.Contains(t, prompts[0], "INVESTIGATION of checkout-api")
	require.Contains(t, prompts[0], "Deployment 2026.12.02-3")
	require.Contains(t, prompts[0], "Exemplar trace 4bf92f3577b34da6a3ce929d0e0e4736")
	// The stored incident keeps them.
	last := f.saved[len(f.saved)-1]
	require.NotNil(t, last.Details.Investigation)
	require.Len(t, last.Details.Investigation.Changes, 1)
	require.Empty(t, last.Details.Investigation.Failed)
}

func TestIncidentInvestigationPartsFailWithinBudget(t *testing.T) {
	f, run := investigationEnv(t)
	env := f.env
	alert := errorRateAlert(f.start)
	changes := 0
	env.OnActivity(f.acts.RecentChanges, mock.Anything, mock.Anything).Return(func(context.Context, activities.ChangesRequest) ([]analyst.Change, error) {
		changes++
		return nil, errors.New("store unavailable")
	})
	// The health part fails on every attempt within its budget.
	env.OnActivity(f.acts.CollectHealth, mock.Anything, mock.Anything).Return(activities.HealthResult{}, errors.New("context deadline exceeded"))
	enriched := false
	env.OnActivity(f.acts.Enrich, mock.Anything, mock.Anything).Return(func(context.Context, activities.EnrichRequest) ([]change.Enrichment, error) {
		enriched = true
		return nil, nil
	})

	res := run(IncidentInput{Alert: alert, Client: "test"})
	require.Equal(t, IncidentCompleted, res.Status, "a failed part never fails the incident")
	require.Equal(t, 3, changes, "recent changes are retried within their budget")
	require.False(t, enriched, "no metric regressed: no tables")
	require.Contains(t, res.Report, "store unavailable")
	require.Contains(t, res.Report, "health metrics could not be compared")
	inv := f.saved[len(f.saved)-1].Details.Investigation
	require.Len(t, inv.Failed, 2)
	require.Equal(t, analyst.PartChanges, inv.Failed[0].Part)
	require.Equal(t, analyst.PartHealth, inv.Failed[1].Part)
	require.True(t, strings.Contains(inv.Failed[1].Error, "deadline"), inv.Failed[1].Error)
	require.Equal(t, "store unavailable", inv.Failed[0].Error)
}

func TestIncidentWithoutApplicationIsNotInvestigated(t *testing.T) {
	f, run := investigationEnv(t)
	env := f.env
	alert := errorRateAlert(f.start)
	alert.Application = ""
	called := false
	env.OnActivity(f.acts.RecentChanges, mock.Anything, mock.Anything).Return(func(context.Context, activities.ChangesRequest) ([]analyst.Change, error) {
		called = true
		return nil, nil
	})
	res := run(IncidentInput{Alert: alert, Client: "test"})
	require.Equal(t, IncidentCompleted, res.Status)
	require.False(t, called)
	require.Nil(t, f.saved[len(f.saved)-1].Details.Investigation)
}
