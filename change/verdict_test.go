package change_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
)

// TestBuiltinChangeVerdictFollowsTheRoleSchema: the built-in analyst's change verdict is valid
// against the change-tracker role's JSON schema and names the unstable application's metric.
func TestBuiltinChangeVerdictFollowsTheRoleSchema(t *testing.T) {
	role, ok := roles.Default("change-tracker")
	require.True(t, ok)
	task := change.Task{Deployment: "d-1", Checkpoint: "+30m", Apps: []change.App{
		{ID: "app-1", Name: "checkout-api", Findings: []compare.Finding{
			{Metric: "latency_p95", Kind: "TRANSACTION", Verdict: compare.Degraded, Summary: "latency_p95 median 812 vs 240 a day ago: worse"},
			{Metric: "alerts", Kind: "ALERT", Verdict: compare.Stable},
		}},
		{ID: "app-2", Name: "catalog-api", Findings: []compare.Finding{
			{Metric: "latency_p95", Kind: "TRANSACTION", Verdict: compare.Stable},
		}},
	}}
	b := llm.NewBuiltin(map[string]llm.Answerer{change.TaskVerdict: change.Answer})
	resp, err := b.Complete(context.Background(), llm.Request{Model: "tracker", Task: &llm.Task{Kind: change.TaskVerdict, Data: task}})
	require.NoError(t, err)
	require.NoError(t, roles.ValidateAnswer(role.ResponseFormat, resp.Text), resp.Text)
	var v change.Verdict
	require.NoError(t, json.Unmarshal([]byte(resp.Text), &v))
	require.Equal(t, "UNSTABLE", v.State)
	require.Equal(t, "UNSTABLE", v.Applications[0].State)
	require.Equal(t, []string{"TRANSACTION"}, v.Applications[0].Metric)
	require.Contains(t, v.Applications[0].Comment, "latency_p95")
	require.Equal(t, "STABLE", v.Applications[1].State)
	require.Empty(t, v.Applications[1].Metric)
}

// TestBoundKeepsTheModelWithinTheNumbers: a model that calls a regressed application STABLE, or
// one without data healthy, is overridden, and the disagreement is kept; a model that judges more
// severely is kept; an application the model left out gets the engine's verdict.
func TestBoundKeepsTheModelWithinTheNumbers(t *testing.T) {
	task := change.Task{Apps: []change.App{
		{ID: "101", Name: "checkout", Findings: []compare.Finding{
			{Metric: "error_ratio", Kind: "TRANSACTION", Verdict: compare.Degraded, Summary: "error_ratio median 0.08 vs 0.005 a day ago: worse"},
			{Metric: "error_logs", Kind: "ISSUE", Verdict: compare.NotCollected, Summary: "error_logs: not collected"},
		}},
		{ID: "102", Name: "nodata", Findings: []compare.Finding{
			{Metric: "throughput", Kind: "TRANSACTION", Verdict: compare.NotCollected},
		}},
		{ID: "103", Name: "catalog", Findings: []compare.Finding{
			{Metric: "throughput", Kind: "TRANSACTION", Verdict: compare.Stable},
		}},
		{ID: "104", Name: "forgotten", Findings: []compare.Finding{
			{Metric: "latency_p95", Kind: "TRANSACTION", Verdict: compare.Gone, Summary: "latency_p95: gone"},
		}},
	}}
	model := change.Verdict{State: "STABLE", Comment: "All good.", Applications: []change.AppVerdict{
		{Name: "checkout", ApplicationID: "x", State: "STABLE", Metric: []string{}, Comment: "looks fine"},
		{Name: "nodata", State: "STABLE", Metric: []string{}},
		{Name: "catalog", State: "MOSTLY_STABLE", Metric: []string{"ALERT"}, Comment: "an alert worries me"},
		{Name: "invented", State: "UNSTABLE"},
	}}
	v := change.Bound(task, model)
	require.Len(t, v.Applications, 4)
	require.Equal(t, "UNSTABLE", v.State)

	co := v.Applications[0]
	require.Equal(t, "UNSTABLE", co.State)
	require.Equal(t, "101", co.ApplicationID, "the ID as the deployment sent it")
	require.Equal(t, []string{"TRANSACTION"}, co.Metric)
	require.Equal(t, "UNSTABLE", co.EngineState)
	require.Contains(t, co.Disagreement, "the model answered STABLE, but the numbers say UNSTABLE")
	require.Equal(t, "looks fine", co.Comment)

	require.Equal(t, "MOSTLY_STABLE", v.Applications[1].State, "no data is never healthy")
	require.NotEmpty(t, v.Applications[1].Disagreement)

	require.Equal(t, "MOSTLY_STABLE", v.Applications[2].State, "a stricter model is kept")
	require.Equal(t, []string{"ALERT"}, v.Applications[2].Metric)
	require.Contains(t, v.Applications[2].Disagreement, "the model's verdict is kept")

	require.Equal(t, "UNSTABLE", v.Applications[3].State)
	require.Contains(t, v.Applications[3].Disagreement, "did not judge")
	require.Contains(t, v.Comment, "The numbers override the model for checkout, nodata, forgotten")

	// Agreement leaves no trace.
	agree := change.Bound(change.Task{Apps: task.Apps[2:3]}, change.Verdict{State: "STABLE",
		Applications: []change.AppVerdict{{Name: "catalog", State: "STABLE", Metric: []string{}}}})
	require.Empty(t, agree.Applications[0].Disagreement)
	require.Equal(t, "STABLE", agree.State)
}

// TestBuiltinVerdictNamesMetricsNotCollected: a healthy service without a log pipeline is STABLE,
// and its comment names the log metrics as not collected.
func TestBuiltinVerdictNamesMetricsNotCollected(t *testing.T) {
	v := change.Write(change.Task{Apps: []change.App{{ID: "7", Name: "nolog", Findings: []compare.Finding{
		{Metric: "error_ratio", Kind: "TRANSACTION", Verdict: compare.Stable},
		{Metric: "error_logs", Kind: "ISSUE", Verdict: compare.NotCollected},
		{Metric: "fatal_logs", Kind: "ISSUE", Verdict: compare.NotCollected},
	}}}})
	require.Equal(t, "STABLE", v.State)
	require.Contains(t, v.Applications[0].Comment, "not collected (not held against it): error_logs, fatal_logs")
}
