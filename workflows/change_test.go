package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/llm"
)

var twoApps = []activities.App{{ID: "a1", Name: "checkout-api"}, {ID: "a2", Name: "catalog-api"}}

// healthAfter returns findings: checkout-api degraded in windows ending after regressAt.
func healthAfter(regressAt time.Time) func(context.Context, activities.HealthRequest) (activities.HealthResult, error) {
	return func(_ context.Context, in activities.HealthRequest) (activities.HealthResult, error) {
		var res activities.HealthResult
		for _, app := range in.Apps {
			v := compare.Stable
			if app.Name == "checkout-api" && !regressAt.IsZero() && in.To.After(regressAt) {
				v = compare.Degraded
			}
			res.Apps = append(res.Apps, llm.ChangeApp{ID: app.ID, Name: app.Name, Findings: []compare.Finding{
				{Metric: "latency_p95", Kind: "TRANSACTION", Verdict: v, Summary: "latency_p95 " + string(v)},
			}})
		}
		res.Prompt = "facts"
		return res, nil
	}
}

func labels(cps []Checkpoint) []string {
	out := make([]string, len(cps))
	for i, c := range cps {
		out[i] = c.Label
	}
	return out
}

func TestChangeTrackingRunsTheWholeDayInSkippedTime(t *testing.T) {
	env, acts := newEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(time.Hour)
	finish := planned.Add(5 * time.Minute)
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(finish.Add(2 * time.Hour)))
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventStarted, At: planned})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: finish})
	}, time.Hour+5*time.Minute)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: activities.Deployment{
		ID: "dep-1", PlannedAt: planned, Version: "1.2.3", Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "done", st.Status)
	require.Equal(t, GateProceed, st.Gate.Decision)
	require.Equal(t, []string{"-30m0s", "+10m0s", "+30m0s", "+1h0m0s", "+4h0m0s", "+8h0m0s", "+12h0m0s", "+24h0m0s"}, labels(st.Checkpoints))
	require.GreaterOrEqual(t, env.Now().Sub(finish), 24*time.Hour, "the last check ran a day after the finish")
	for i, cp := range st.Checkpoints {
		require.Empty(t, cp.Error)
		require.NotNil(t, cp.Verdict, cp.Label)
		want := "STABLE"
		if i >= 4 { // windows ending after the regression (+2 h)
			want = "UNSTABLE"
		}
		require.Equal(t, want, cp.Verdict.State, cp.Label)
	}
	last := st.Checkpoints[len(st.Checkpoints)-1].Verdict
	require.Equal(t, "UNSTABLE", last.Applications[0].State)
	require.Equal(t, []string{"TRANSACTION"}, last.Applications[0].Metric)
	require.Equal(t, "STABLE", last.Applications[1].State)
}

func TestChangeTrackingRollbackEndsWithAFinalCheck(t *testing.T) {
	env, acts := newEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(time.Hour)
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(planned))
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventRolledBack, At: planned.Add(45 * time.Minute)})
	}, time.Hour+45*time.Minute)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: activities.Deployment{
		ID: "dep-2", PlannedAt: planned, Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, EventRolledBack, st.Status)
	require.Equal(t, []string{"-30m0s", "+10m0s", "+30m0s", "final"}, labels(st.Checkpoints))
}

func TestChangeTrackingLateAnnouncementCatchesUpOnce(t *testing.T) {
	env, acts := newEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(-2 * time.Hour) // announced two hours after the planned time
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(time.Time{}))
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned.Add(10 * time.Minute)})
	}, time.Second)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: activities.Deployment{
		ID: "dep-3", PlannedAt: planned, Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	// -30m is past (checked at once), +10m/+30m/+1h are past (one catch-up), then the rest on time.
	require.Equal(t, []string{"-30m0s", "catch-up", "+4h0m0s", "+8h0m0s", "+12h0m0s", "+24h0m0s"}, labels(st.Checkpoints))
	require.True(t, st.Checkpoints[1].CatchUp)
}

func TestChangeTrackingHoldsWithoutMetrics(t *testing.T) {
	env, _ := newEnv(t) // CollectHealth runs for real with no metrics source
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventCancelled, At: start.Add(time.Hour)})
	}, time.Hour)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: activities.Deployment{
		ID: "dep-4", PlannedAt: start.Add(time.Hour), Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, GateHold, st.Gate.Decision, "missing data is never healthy")
	require.NotEmpty(t, st.Gate.Reasons)
	require.Equal(t, EventCancelled, st.Status)
}

func TestChangeTrackingPushesAHoldToTheChannels(t *testing.T) {
	env, acts := newEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(start.Add(-time.Hour))) // degraded already
	env.OnActivity(acts.NotifyChannels, mock.Anything).Return([]string{"email", "slack"}, nil)
	var sent []activities.DeliverRequest
	env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverRequest) (activities.DeliveryResult, error) {
		sent = append(sent, in)
		return activities.DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventCancelled, At: start.Add(time.Hour)})
	}, time.Hour)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: activities.Deployment{
		ID: "dep-5", PlannedAt: start.Add(time.Hour), Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, sent, 2, "one hold per channel")
	require.Contains(t, sent[0].Message.Title, "[hold] deployment dep-5")
	require.Contains(t, sent[0].Message.Text, "checkout-api is UNSTABLE")
}
