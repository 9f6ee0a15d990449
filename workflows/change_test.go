package workflows

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/promsource"
	"github.com/vigil-ops/vigil/store"
)

// newChangeEnv is newEnv with a real in-memory store behind the deployment record's saves.
func newChangeEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *testActs, store.Store) {
	env, acts := newEnv(t)
	st, err := store.Open(t.Context(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	acts.setStore(st)
	return env, acts, st
}

var twoApps = []change.Application{{ID: "a1", Name: "checkout-api"}, {ID: "a2", Name: "catalog-api"}}

// healthAfter returns findings: checkout-api degraded in windows ending after regressAt.
func healthAfter(regressAt time.Time) func(context.Context, activities.HealthRequest) (activities.HealthResult, error) {
	return func(_ context.Context, in activities.HealthRequest) (activities.HealthResult, error) {
		var res activities.HealthResult
		for _, app := range in.Apps {
			v := compare.Stable
			if app.Name == "checkout-api" && !regressAt.IsZero() && in.To.After(regressAt) {
				v = compare.Degraded
			}
			res.Apps = append(res.Apps, change.App{ID: string(app.ID), Name: app.Name, Findings: []compare.Finding{
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
	env, acts, _ := newChangeEnv(t)
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
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: change.Deployment{
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
	env, acts, _ := newChangeEnv(t)
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
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: change.Deployment{
		ID: "dep-2", PlannedAt: planned, Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, EventRolledBack, st.Status)
	require.Equal(t, []string{"-30m0s", "+10m0s", "+30m0s", "final"}, labels(st.Checkpoints))
}

func TestChangeTrackingLateAnnouncementCatchesUpOnce(t *testing.T) {
	env, acts, _ := newChangeEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(-2 * time.Hour) // announced two hours after the planned time
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(time.Time{}))
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned.Add(10 * time.Minute)})
	}, time.Second)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: change.Deployment{
		ID: "dep-3", PlannedAt: planned, Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	// -30m is past (checked at once), +10m/+30m/+1h are past (one catch-up), then the rest on time.
	require.Equal(t, []string{"-30m0s", "catch-up", "+4h0m0s", "+8h0m0s", "+12h0m0s", "+24h0m0s"}, labels(st.Checkpoints))
	require.True(t, st.Checkpoints[1].CatchUp)
}

func TestChangeTrackingHoldsWithoutMetrics(t *testing.T) {
	env, _, _ := newChangeEnv(t) // CollectHealth runs for real with no metrics source
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventCancelled, At: start.Add(time.Hour)})
	}, time.Hour)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: change.Deployment{
		ID: "dep-4", PlannedAt: start.Add(time.Hour), Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, GateHold, st.Gate.Decision, "missing data is never healthy")
	require.NotEmpty(t, st.Gate.Reasons)
	require.Equal(t, EventCancelled, st.Status)
}

func TestChangeTrackingPushesAHoldToTheChannels(t *testing.T) {
	env, acts, _ := newChangeEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(start.Add(-time.Hour))) // degraded already
	env.OnActivity(acts.NotifyChannels, mock.Anything).Return([]string{"email", "slack"}, nil)
	var sent []activities.DeliverRequest
	env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverRequest) (activities.DeliveryResult, error) {
		sent = append(sent, in)
		return activities.DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
	})
	env.RegisterDelayedCallback(func() { // the release system heeds the hold
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventCancelled, At: start.Add(50 * time.Minute)})
	}, 50*time.Minute)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: change.Deployment{
		ID: "dep-5", PlannedAt: start.Add(time.Hour), Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	// One hold per channel; the cancellation came before the planned time, before anything was
	// deployed: no final check to push.
	require.Len(t, sent, 2)
	holds := 0
	for _, s := range sent {
		require.True(t, strings.HasPrefix(s.Message.Title, "[hold] deployment dep-5"), s.Message.Title)
		holds++
		require.Contains(t, s.Message.Text, "checkout-api is UNSTABLE")
		require.Contains(t, s.Message.Text, "could not run: no metrics source is configured", "the hold carries its enrichment")
		require.Equal(t, "/v1/deployments/dep-5", s.Message.URL)
	}
	require.Equal(t, 2, holds, "one hold per channel")
}

// The verdicts that name a metric get their data: the enrichment queries run for the kinds
// named, the series of the degraded metrics, and every checkpoint that is not STABLE is pushed
// to the channels with that data; the stored record follows every step.
func TestChangeTrackingEnrichesAndNotifiesVerdicts(t *testing.T) {
	env, acts, saved := newChangeEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(time.Hour)
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(planned.Add(2 * time.Hour)))
	var asked []activities.EnrichRequest
	env.OnActivity(acts.Enrich, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EnrichRequest) ([]change.Enrichment, error) {
		asked = append(asked, in)
		day := 3.0
		return []change.Enrichment{{App: in.Apps[0].App.Name, ID: string(in.Apps[0].App.ID), Kinds: in.Apps[0].Kinds,
			Tables: []promsource.Table{{Name: "top_failing_endpoints", Kind: "TRANSACTION", Title: "Top failing endpoints",
				Rows: []promsource.Row{{Labels: map[string]string{"http_route": "/checkout", "http_request_method": "POST"}, Current: 120, Day: &day, New: false}}}},
		}}, nil
	})
	env.OnActivity(acts.NotifyChannels, mock.Anything).Return([]string{"webhook"}, nil)
	var sent []activities.DeliverRequest
	env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverRequest) (activities.DeliveryResult, error) {
		sent = append(sent, in)
		return activities.DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned})
	}, time.Hour)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: change.Deployment{
		ID: "dep-6", PlannedAt: planned, Version: "2.0", Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))

	// +4h, +8h, +12h and +24h end after the regression (+2h): four UNSTABLE verdicts.
	require.Len(t, asked, 4)
	require.Len(t, asked[0].Apps, 1, "only the application the verdict names")
	require.Equal(t, "checkout-api", asked[0].Apps[0].App.Name)
	require.Equal(t, change.AppID("a1"), asked[0].Apps[0].App.ID)
	require.Equal(t, []string{"TRANSACTION"}, asked[0].Apps[0].Kinds)
	require.Equal(t, []string{"latency_p95"}, asked[0].Apps[0].Degraded)
	require.Equal(t, planned, asked[0].Change)

	require.Len(t, sent, 4, "one notification per checkpoint that is not STABLE (the default)")
	m := sent[0].Message
	require.Equal(t, "[UNSTABLE] deployment dep-6, checkpoint +4h0m0s", m.Title)
	require.Contains(t, m.Text, "checkout-api (a1): UNSTABLE [TRANSACTION]")
	require.Contains(t, m.Text, "Top failing endpoints (now / a day ago / a week ago)")
	require.Contains(t, m.Text, "POST /checkout  120 / 3 / -")
	require.Equal(t, "critical", m.Severity)
	require.Contains(t, m.IncidentID, "deploy-dep-6/")
	require.True(t, strings.HasSuffix(m.IncidentID, "/+4h0m0s@20261126T140000Z"), m.IncidentID)
	raw, err := json.Marshal(m.Data) // the activity receives it decoded from the workflow's JSON
	require.NoError(t, err)
	var data CheckpointNotice
	require.NoError(t, json.Unmarshal(raw, &data))
	require.Equal(t, "+4h0m0s", data.Checkpoint.Label)
	require.Equal(t, float64(120), data.Checkpoint.Enrichments[0].Tables[0].Rows[0].Current)

	cp := st.Checkpoints[4]
	require.Equal(t, "+4h0m0s", cp.Label)
	require.Len(t, cp.Enrichments, 1)
	require.Equal(t, []notify.DeliveryState{{Channel: "webhook", Status: "sent"}}, cp.Notified)
	require.Empty(t, st.Checkpoints[1].Enrichments, "a STABLE verdict names nothing to enrich")
	require.Empty(t, st.Checkpoints[1].Notified)

	// The stored record, merged from the saves of each step: the whole state.
	last, err := saved.GetDeployment(t.Context(), "dep-6")
	require.NoError(t, err)
	require.Equal(t, []string{"checkout-api", "catalog-api"}, last.Applications)
	require.Equal(t, "done", last.Status)
	require.Equal(t, "UNSTABLE", last.State)
	require.Equal(t, GateProceed, last.Gate)
	var stored DeploymentState
	require.NoError(t, json.Unmarshal(last.Body, &stored))
	require.Len(t, stored.Checkpoints, 8)
	require.Equal(t, labels(st.Checkpoints), labels(stored.Checkpoints))
	require.Equal(t, st.Checkpoints[4].Notified, stored.Checkpoints[4].Notified)
	require.Equal(t, "Top failing endpoints", stored.Checkpoints[7].Enrichments[0].Tables[0].Title)
}

func TestChangeTrackingNotifyPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   int
	}{{NotifyAll, 7}, {NotifyNone, 0}, {NotifyNotStable, 4}} {
		t.Run(tc.policy, func(t *testing.T) {
			env, acts, _ := newChangeEnv(t)
			start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
			env.SetStartTime(start)
			planned := start.Add(time.Hour)
			env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(healthAfter(planned.Add(2 * time.Hour)))
			env.OnActivity(acts.Enrich, mock.Anything, mock.Anything).Return([]change.Enrichment{}, nil)
			env.OnActivity(acts.NotifyChannels, mock.Anything).Return([]string{"slack"}, nil)
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned})
			}, time.Hour)
			sent := 0
			env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverRequest) (activities.DeliveryResult, error) {
				sent++
				return activities.DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
			})
			env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Notify: tc.policy, Deployment: change.Deployment{
				ID: "dep-7", PlannedAt: planned, Applications: twoApps}})
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, tc.want, sent, "post-deployment notifications (the gate proceeded: no hold)")
		})
	}
}

// An application with its own schedule is checked only at its checkpoints; the others follow
// the global schedule, and the workflow runs the union.
func TestChangeTrackingPerApplicationCheckpoints(t *testing.T) {
	env, acts, _ := newChangeEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(time.Hour)
	checked := map[string][]string{}
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.HealthRequest) (activities.HealthResult, error) {
		label := in.To.Sub(planned).String()
		for _, a := range in.Apps {
			checked[a.Name] = append(checked[a.Name], label)
		}
		return healthAfter(time.Time{})(ctx, in)
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned})
	}, time.Hour)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{
		Checkpoints:    []time.Duration{-30 * time.Minute, 10 * time.Minute, time.Hour},
		AppCheckpoints: map[string][]time.Duration{"catalog-api": {-time.Hour, 2 * time.Hour}},
		Deployment:     change.Deployment{ID: "dep-8", PlannedAt: planned, Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var st DeploymentState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, []string{"-1h0m0s", "-30m0s", "+10m0s", "+1h0m0s", "+2h0m0s"}, labels(st.Checkpoints))
	require.Equal(t, []string{"-30m0s", "10m0s", "1h0m0s"}, checked["checkout-api"])
	require.Equal(t, []string{"-1h0m0s", "2h0m0s"}, checked["catalog-api"])
	require.Equal(t, GateProceed, st.Gate.Decision)
}

// Events that change nothing (a repeated "finished", a late "started") do not bring the next
// checkpoint forward.
func TestChangeTrackingIgnoresRepeatedEvents(t *testing.T) {
	env, acts, _ := newChangeEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(time.Hour)
	var windows []time.Time
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.HealthRequest) (activities.HealthResult, error) {
		windows = append(windows, in.To)
		return healthAfter(time.Time{})(ctx, in)
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned})
	}, time.Hour)
	for _, after := range []time.Duration{time.Minute, 2 * time.Minute} {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventFinished, At: planned.Add(after)})
			env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventStarted, At: planned.Add(after)})
		}, time.Hour+after)
	}
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Checkpoints: []time.Duration{-30 * time.Minute, 10 * time.Minute, time.Hour},
		Deployment: change.Deployment{ID: "dep-9", PlannedAt: planned, Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []time.Time{planned.Add(-30 * time.Minute), planned.Add(10 * time.Minute), planned.Add(time.Hour)}, windows,
		"each check at its time, counted from the first finish")
}

// A deployment cancelled before its pre-check is neither pre-checked nor given a final check:
// nothing was deployed. Its gate holds, saying why.
func TestChangeTrackingCancelledBeforeThePreCheck(t *testing.T) {
	env, acts, st := newChangeEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	checks := 0
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.HealthRequest) (activities.HealthResult, error) {
		checks++
		return healthAfter(time.Time{})(ctx, in)
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventCancelled, At: start.Add(time.Minute)})
	}, time.Minute)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{Deployment: change.Deployment{
		ID: "dep-10", PlannedAt: start.Add(3 * time.Hour), Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var res DeploymentState
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 0, checks)
	require.Equal(t, EventCancelled, res.Status)
	require.Equal(t, GateHold, res.Gate.Decision)
	require.Equal(t, []string{"the deployment was cancelled before its pre-check"}, res.Gate.Reasons)
	require.Empty(t, res.Checkpoints)
	rec, err := st.GetDeployment(t.Context(), "dep-10")
	require.NoError(t, err)
	require.Equal(t, EventCancelled, rec.Status)
}

// With several pre-checks (per-application schedules) the gate stays pending until the last,
// holds when any held, and the hold is pushed once with every reason.
func TestChangeTrackingGateWaitsForEveryPreCheck(t *testing.T) {
	env, acts, _ := newChangeEnv(t)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	planned := start.Add(2 * time.Hour)
	// catalog-api is degraded before the deployment; checkout-api is fine.
	env.OnActivity(acts.CollectHealth, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.HealthRequest) (activities.HealthResult, error) {
		var res activities.HealthResult
		for _, app := range in.Apps {
			v := compare.Stable
			if app.Name == "catalog-api" {
				v = compare.Degraded
			}
			res.Apps = append(res.Apps, change.App{ID: string(app.ID), Name: app.Name, Findings: []compare.Finding{
				{Metric: "error_ratio", Kind: "TRANSACTION", Verdict: v, Summary: "error_ratio " + string(v)}}})
		}
		return res, nil
	})
	env.OnActivity(acts.NotifyChannels, mock.Anything).Return([]string{"email"}, nil)
	var holds []activities.DeliverRequest
	env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverRequest) (activities.DeliveryResult, error) {
		if strings.HasPrefix(in.Message.Title, "[hold]") {
			holds = append(holds, in)
		}
		return activities.DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
	})
	var gateAt45 GateAnswer
	env.RegisterDelayedCallback(func() { // between the -1h and the -30m pre-checks
		v, err := env.QueryWorkflow(QueryDeployment)
		require.NoError(t, err)
		var st DeploymentState
		require.NoError(t, v.Get(&st))
		gateAt45 = st.Gate
	}, time.Hour+15*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDeploymentEvent, DeploymentEvent{Type: EventCancelled, At: planned})
	}, 2*time.Hour)
	env.ExecuteWorkflow(ChangeTrackingWorkflow, ChangeInput{
		Checkpoints:    []time.Duration{-30 * time.Minute, 10 * time.Minute},
		AppCheckpoints: map[string][]time.Duration{"catalog-api": {-time.Hour, 10 * time.Minute}},
		Deployment:     change.Deployment{ID: "dep-11", PlannedAt: planned, Applications: twoApps}})
	require.NoError(t, env.GetWorkflowError())
	var res DeploymentState
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, GatePending, gateAt45.Decision, "one pre-check of two has run")
	require.Equal(t, GateHold, res.Gate.Decision)
	require.Len(t, res.Gate.Reasons, 1)
	require.Contains(t, res.Gate.Reasons[0], "catalog-api is UNSTABLE")
	require.Len(t, holds, 1, "the hold is pushed once")
}

// An answer that says STABLE overall but leaves an application out does not open the gate.
func TestGateNeedsEveryApplicationStable(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	cp := Checkpoint{Verdict: &change.Verdict{State: "STABLE", Applications: []change.AppVerdict{{Name: "checkout-api", State: "STABLE"}}}}
	g := gateOf(cp, now, twoApps)
	require.Equal(t, GateHold, g.Decision)
	require.Equal(t, []string{"catalog-api was not judged by the pre-check"}, g.Reasons)
	require.Equal(t, GateProceed, gateOf(cp, now, twoApps[:1]).Decision)
}
