package llm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
)

// TestBuiltinChangeVerdictFollowsTheRoleSchema: the built-in analyst's change verdict is valid
// against the change-tracker role's JSON schema and names the unstable application's metric.
func TestBuiltinChangeVerdictFollowsTheRoleSchema(t *testing.T) {
	role, ok := roles.Default("change-tracker")
	require.True(t, ok)
	task := llm.ChangeTask{Deployment: "d-1", Checkpoint: "+30m", Apps: []llm.ChangeApp{
		{ID: "app-1", Name: "checkout-api", Findings: []compare.Finding{
			{Metric: "latency_p95", Kind: "TRANSACTION", Verdict: compare.Degraded, Summary: "latency_p95 median 812 vs 240 a day ago: worse"},
			{Metric: "alerts", Kind: "ALERT", Verdict: compare.Stable},
		}},
		{ID: "app-2", Name: "catalog-api", Findings: []compare.Finding{
			{Metric: "latency_p95", Kind: "TRANSACTION", Verdict: compare.Stable},
		}},
	}}
	resp, err := llm.Builtin{}.Complete(context.Background(), llm.Request{Model: "tracker",
		Task: &llm.Task{Kind: llm.TaskChangeVerdict, Change: &task}})
	require.NoError(t, err)
	require.NoError(t, roles.ValidateAnswer(role.ResponseFormat, resp.Text), resp.Text)
	var v llm.ChangeVerdict
	require.NoError(t, json.Unmarshal([]byte(resp.Text), &v))
	require.Equal(t, "UNSTABLE", v.State)
	require.Equal(t, "UNSTABLE", v.Applications[0].State)
	require.Equal(t, []string{"TRANSACTION"}, v.Applications[0].Metric)
	require.Contains(t, v.Applications[0].Comment, "latency_p95")
	require.Equal(t, "STABLE", v.Applications[1].State)
	require.Empty(t, v.Applications[1].Metric)
}
