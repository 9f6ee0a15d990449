package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/ghclient/githubtest"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

const repoFile = "src/main/java/com/shop/OrderRepository.java"

// The code-tuning agent end to end: a slow-SQL incident, the schedule created at start, a run
// started through the API reads the repository file the slow span names from a local GitHub
// (through go-github), the role code-tuner (an OpenAI-compatible LLM) changes it, and a pull
// request is opened — once: the next run finds it still open.
func TestCodeTuningOpensAPullRequest(t *testing.T) {
	gh := githubtest.New(t, "acme", "shop", "gh-test-token", map[string]string{
		repoFile:    "class OrderRepository {\n  List<Order> findRecentDuplicates() { /* SELECT ... */ }\n}\n",
		"README.md": "shop\n",
	})
	upstream := llmtest.NewServer(t)
	change, _ := json.Marshal(map[string]any{"explanation": "Narrow the query to the user's recent orders and use the (user_id, created_at) index.",
		"files": []map[string]string{{"path": repoFile, "content": "class OrderRepository {\n  // narrowed\n}\n"}}})
	upstream.SetDefault(llmtest.Text(string(change)))
	t.Setenv("VIGIL_TEST_GITHUB_TOKEN", "gh-test-token")
	a, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		gatewayConfig(upstream.URL)(c)
		c.CodeTuning = config.CodeTuning{Repository: "acme/shop", BaseBranch: "main", Schedule: "0 2 * * *", MaxProblems: 3,
			GitHub: config.GitHubAccess{TokenEnv: "VIGIL_TEST_GITHUB_TOKEN", APIURL: gh.URL}}
	}))

	// The nightly schedule exists under its fixed ID.
	desc, err := a.Client.ScheduleClient().GetHandle(context.Background(), workflows.TuningScheduleID).Describe(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, desc.Info.NextActionTimes)
	next := desc.Info.NextActionTimes[0].UTC()
	require.Equal(t, 2, next.Hour(), "nightly at 02:00 UTC")
	require.Equal(t, 0, next.Minute())
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, "CodeTuningWorkflow", action.Workflow)

	role := `{"code": "code-tuner", "name": "Code tuner", "system_message": "Fix it.",
	  "chain": [{"provider": "local", "model": "model-a", "attempts": 2, "timeout": "5s"}, {"provider": "builtin", "model": "tuner"}],
	  "response_format": {"type": "json_schema", "name": "code_change", "schema": {"type": "object", "required": ["explanation", "files"],
	    "properties": {"explanation": {"type": "string"}, "files": {"type": "array", "items": {"type": "object", "required": ["path", "content"],
	      "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}}}}}}`
	code, out, _ := request(t, http.MethodPut, base+"/v1/roles/code-tuner", []byte(role))
	require.Equal(t, http.StatusOK, code, string(out))

	body, _ := profile.Example("slow-sql")
	code, out, _ = post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	require.Equal(t, "completed", waitIncident(t, base, acc.WorkflowID).Status)

	run := func() workflows.TuningState {
		code, out, _ := post(t, base+"/v1/code-tuning/runs", nil)
		require.Equal(t, http.StatusAccepted, code, string(out))
		var started struct {
			WorkflowID string `json:"workflowId"`
		}
		require.NoError(t, json.Unmarshal(out, &started))
		var st workflows.TuningState
		require.Eventually(t, func() bool {
			return getJSON(t, base+"/v1/code-tuning/runs/"+started.WorkflowID, &st) == http.StatusOK && st.Status == "done"
		}, 60*time.Second, 100*time.Millisecond)
		return st
	}
	st := run()
	require.NotEmpty(t, st.Results)
	first := st.Results[0]
	require.Equal(t, "slow_sql", first.Problem.Kind)
	require.Equal(t, "pr-opened", first.Status, "%+v", first)
	require.Equal(t, []string{repoFile}, first.Files)
	prs := gh.PullRequests()
	require.Len(t, prs, 1)
	require.Equal(t, "main", prs[0].Base)
	require.Contains(t, prs[0].Title, "vigil: Slow SQL on orders, order_items")
	require.Contains(t, prs[0].Body, "Narrow the query")
	content, ok := gh.File(prs[0].Head, repoFile)
	require.True(t, ok)
	require.Contains(t, content, "// narrowed")
	mainContent, _ := gh.File("main", repoFile)
	require.Contains(t, mainContent, "findRecentDuplicates", "the preset branch is untouched")
	commits := gh.Commits()

	// The next run: the same pull request, no new commit.
	st = run()
	require.Equal(t, "pr-opened", st.Results[0].Status)
	require.True(t, st.Results[0].PullRequest.Existing)
	require.Len(t, gh.PullRequests(), 1)
	require.Equal(t, commits, gh.Commits())
}
