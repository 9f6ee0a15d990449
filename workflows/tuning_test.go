package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/tuning"
)

var tuningProblems = []tuning.Problem{
	{Key: "sql-abc", Kind: "slow_sql", Title: "Slow SQL on orders (8413 ms)", Detail: "SELECT ... FROM orders", Hints: []string{"OrderRepository"}},
	{Key: "err-def", Kind: "error", Title: "NullPointerException: cart", Detail: "at Cart.total(Cart.java:12)", Hints: []string{"Cart.java"}},
	{Key: "err-ghi", Kind: "error", Title: "TimeoutException", Detail: "at Unknown", Hints: []string{"Unknown"}},
}

func TestCodeTuningOpensAPullRequestPerChange(t *testing.T) {
	env, acts := newEnv(t)
	var tu *activities.Tuning
	env.OnActivity(tu.TuningProblems, mock.Anything, 3).Return(tuningProblems, nil)
	env.OnActivity(tu.ReadSources, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SourceRequest) (activities.Sources, error) {
		switch in.Hints[0] {
		case "OrderRepository":
			return activities.Sources{HeadSHA: "abc", Files: []tuning.FileChange{{Path: "src/OrderRepository.java", Content: "class OrderRepository {}"}}}, nil
		case "Cart.java":
			return activities.Sources{HeadSHA: "abc", Files: []tuning.FileChange{{Path: "src/Cart.java", Content: "class Cart {}"}}}, nil
		}
		return activities.Sources{Files: []tuning.FileChange{}}, nil
	})
	env.OnActivity(acts.ResolveRole, mock.Anything, TuningRole).Return(func(_ context.Context, code string) (roles.Role, error) {
		r, _ := roles.Default(code)
		r.Chain = []roles.Link{{Provider: "fake", Model: "m"}, {Provider: "builtin", Model: "tuner"}}
		return r, nil
	})
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		var task tuning.Task
		if err := in.Request.Task.Decode(&task); err != nil {
			return activities.LinkResult{}, err
		}
		if task.Paths[0] == "src/OrderRepository.java" {
			return activities.LinkResult{Provider: "fake", Model: "m", Text: `{"explanation":"Narrow the query.","files":[` +
				`{"path":"src/OrderRepository.java","content":"class OrderRepository { /* narrower */ }"},` +
				`{"path":"etc/passwd","content":"not shown, never written"}]}`}, nil
		}
		return acts.CallLink(ctx, activities.LinkCall{Role: in.Role, LinkIndex: 1, Provider: "builtin", Client: in.Client, Subject: in.Subject,
			Request: llm.Request{Model: "tuner", Task: in.Request.Task}})
	})
	var opened []activities.PullRequestRequest
	env.OnActivity(tu.OpenPullRequest, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PullRequestRequest) (ghclient.PullRequest, error) {
		opened = append(opened, in)
		return ghclient.PullRequest{Number: 7, URL: "https://github.com/acme/shop/pull/7", Branch: in.Branch}, nil
	})
	env.ExecuteWorkflow(CodeTuningWorkflow, TuningInput{Repository: "acme/shop", Base: "main", MaxProblems: 3})
	require.NoError(t, env.GetWorkflowError())
	var st TuningState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "done", st.Status)
	require.Len(t, st.Results, 3)
	require.Equal(t, "pr-opened", st.Results[0].Status)
	require.Equal(t, []string{"src/OrderRepository.java"}, st.Results[0].Files, "only the files it was shown")
	require.Equal(t, 7, st.Results[0].PullRequest.Number)
	require.Equal(t, "no-change", st.Results[1].Status, "the built-in analyst proposes no change")
	require.Equal(t, "no-source", st.Results[2].Status)

	require.Len(t, opened, 1)
	require.Equal(t, "vigil/tune-sql-abc", opened[0].Branch)
	require.Equal(t, "main", opened[0].Base)
	require.Equal(t, "vigil: Slow SQL on orders (8413 ms)", opened[0].Title)
	require.Contains(t, opened[0].Body, "Narrow the query.")
	require.Len(t, opened[0].Files, 1)
}
