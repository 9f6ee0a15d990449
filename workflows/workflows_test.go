package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/incident"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/oncall"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tuning"
)

// testActs are the activity structs a test environment runs, one per capability; the embedded
// ones' methods name the activities to mock (acts.SaveIncident, acts.CallLink).
type testActs struct {
	*activities.Gateway
	*activities.Incident
	*activities.Change
	*activities.Delivery
	OnCall *activities.OnCall
}

// setStore puts st behind every capability's activities.
func (a *testActs) setStore(st store.Store) {
	a.Gateway.Store, a.Incident.Store, a.Change.Store, a.Delivery.Store, a.OnCall.Store = st, st, st, st, st
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *testActs) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	acts := &testActs{Gateway: &activities.Gateway{Providers: llm.NewRegistry(builtinAnalyst())}, Incident: &activities.Incident{},
		Change: &activities.Change{}, Delivery: &activities.Delivery{}, OnCall: &activities.OnCall{}}
	env.RegisterWorkflowWithOptions(IncidentWorkflow, workflow.RegisterOptions{Name: "IncidentWorkflow"})
	env.RegisterWorkflowWithOptions(RoleCallWorkflow, workflow.RegisterOptions{Name: "RoleCallWorkflow"})
	env.RegisterWorkflowWithOptions(ProbeWorkflow, workflow.RegisterOptions{Name: "ProbeWorkflow"})
	env.RegisterWorkflowWithOptions(ChangeTrackingWorkflow, workflow.RegisterOptions{Name: "ChangeTrackingWorkflow"})
	env.RegisterWorkflowWithOptions(OnCallWorkflow, workflow.RegisterOptions{Name: "OnCallWorkflow"})
	env.RegisterActivity(acts.Gateway)
	env.RegisterActivity(acts.Incident)
	env.RegisterActivity(acts.Change)
	env.RegisterActivity(acts.Delivery)
	env.RegisterActivity(acts.OnCall)
	env.RegisterActivity(&activities.Tuning{})
	env.RegisterActivity(activities.Probe)
	return env, acts
}

// builtinAnalyst is the built-in analyst as the application registers it (app.BuiltinAnalyst,
// which this package's tests cannot import).
func builtinAnalyst() *llm.Builtin {
	return llm.NewBuiltin(map[string]llm.Answerer{
		analyst.TaskIncidentReport: analyst.Answer,
		change.TaskVerdict:         change.Answer,
		oncall.TaskDecision:        oncall.Answer,
		tuning.TaskChange:          tuning.Answer,
	})
}

func exampleAlert(t *testing.T, name string) profile.Alert {
	t.Helper()
	b, ok := profile.Example(name)
	require.True(t, ok, name)
	a, err := profile.ParseAlert(b)
	require.NoError(t, err)
	return *a
}

func TestIncidentWorkflowWritesFourSectionReport(t *testing.T) {
	env, acts := newEnv(t)
	var saved []incident.Record
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(func(_ context.Context, in incident.Record) error {
		saved = append(saved, in)
		return nil
	})
	// AnalyzeAlert, ResolveRole and CallLink run for real: they are pure (no store needed here).
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(func(_ context.Context, code string) (roles.Role, error) {
		r, _ := roles.Default(code)
		return r, nil
	})
	alert := exampleAlert(t, "slow-sql")
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: alert, Client: "test"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res IncidentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, IncidentCompleted, res.Status)
	rep, err := analyst.ParseReport(res.Report)
	require.NoError(t, err, res.Report)
	require.NotEmpty(t, rep.Analysis)
	require.Contains(t, res.Report, "orders")
	require.Len(t, saved, 2)
	require.Equal(t, IncidentRunning, saved[0].Status)
	require.Equal(t, IncidentCompleted, saved[1].Status)
	require.Equal(t, res.Report, saved[1].Report)
	require.Equal(t, "builtin", res.Answer.Provider)
}

func TestRoleCallFallsBackToNextLink(t *testing.T) {
	env, acts := newEnv(t)
	calls := map[int]int{}
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		calls[in.LinkIndex]++
		switch in.LinkIndex {
		case 0: // outage: retried up to the link's attempts, then the chain moves on
			return activities.LinkResult{}, temporal.NewApplicationError("HTTP 503", activities.ErrTypeUnavailable)
		case 1: // model removed: not retried
			return activities.LinkResult{}, temporal.NewNonRetryableApplicationError("HTTP 404 model not found", activities.ErrTypeRejected, nil)
		default:
			return activities.LinkResult{Text: "ok", Provider: in.Provider, Model: in.Request.Model, Attempt: 1}, nil
		}
	})
	role := roles.Role{Code: "r1", SystemMessage: "s", Chain: []roles.Link{
		{Provider: "a", Model: "m1", Attempts: 2},
		{Provider: "b", Model: "m2", Attempts: 5},
		{Provider: "builtin", Model: "analyst"},
	}}
	env.ExecuteWorkflow(RoleCallWorkflow, RoleCallInput{Role: role, Client: "t"})
	require.NoError(t, env.GetWorkflowError())
	var res RoleCallResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 2, res.LinkIndex)
	require.Equal(t, "builtin", res.Provider)
	require.Len(t, res.Failures, 2)
	require.Equal(t, 2, calls[0], "a retryable failure is retried up to the link's attempts")
	require.Equal(t, 1, calls[1], "a non-retryable failure is not retried")
	require.Equal(t, 1, calls[2])
}

func TestRoleCallChainExhausted(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(activities.LinkResult{},
		temporal.NewNonRetryableApplicationError("refused", activities.ErrTypeRejected, nil))
	role := roles.Role{Code: "r1", SystemMessage: "s", Chain: []roles.Link{{Provider: "a", Model: "m"}, {Provider: "b", Model: "m"}}}
	env.ExecuteWorkflow(RoleCallWorkflow, RoleCallInput{Role: role})
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, ErrTypeChainExhausted, appErr.Type())
}

func TestIncidentWorkflowFallsBackWhenLLMAnswerBreaksFormat(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(nil)
	role, _ := roles.Default(IncidentRole)
	role.Chain = append([]roles.Link{{Provider: "flaky", Model: "m", Attempts: 2}}, role.Chain...)
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(role, nil)
	bad := 0
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		if in.Provider == "flaky" {
			bad++
			return activities.LinkResult{}, temporal.NewApplicationError("answer rejected: missing section [Action plan]", activities.ErrTypeBadAnswer)
		}
		return acts.CallLink(ctx, in)
	})
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: exampleAlert(t, "n-plus-one")})
	require.NoError(t, env.GetWorkflowError())
	var res IncidentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 2, bad, "a malformed answer is retried, then the chain falls back")
	require.Equal(t, 1, res.Answer.LinkIndex)
	_, err := analyst.ParseReport(res.Report)
	require.NoError(t, err)
}

func TestIncidentWorkflowRecordsFailure(t *testing.T) {
	env, acts := newEnv(t)
	var last incident.Record
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(func(_ context.Context, in incident.Record) error {
		last = in
		return nil
	})
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(roles.Role{},
		temporal.NewNonRetryableApplicationError("role \"alert-analyst\" not found", activities.ErrTypeRoleNotFound, nil))
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: exampleAlert(t, "slow-sql")})
	require.Error(t, env.GetWorkflowError())
	require.Equal(t, IncidentFailed, last.Status)
	require.NotNil(t, last.Details)
	require.True(t, strings.Contains(last.Details.Error, "not found"))
}

func TestProbeWorkflowTimerIsSkipped(t *testing.T) {
	env, _ := newEnv(t)
	start := env.Now()
	env.ExecuteWorkflow(ProbeWorkflow, ProbeInput{Sleep: 24 * time.Hour, Message: "hi"})
	require.NoError(t, env.GetWorkflowError())
	var res ProbeResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, strings.HasSuffix(res.Echo, ": hi"))
	require.GreaterOrEqual(t, env.Now().Sub(start), 24*time.Hour, "the 24 h timer ran in skipped time")
}

func TestIncidentWorkflowIDIsStable(t *testing.T) {
	a := exampleAlert(t, "slow-sql")
	b := exampleAlert(t, "slow-sql")
	require.Equal(t, IncidentWorkflowID(&a), IncidentWorkflowID(&b))
	b.StartsAt = b.StartsAt.Add(time.Minute)
	require.NotEqual(t, IncidentWorkflowID(&a), IncidentWorkflowID(&b))
}

func TestBudgetFreeLinkRetriesAsLocalActivities(t *testing.T) {
	env, acts := newEnv(t)
	var attempts []int
	env.OnActivity(acts.MaskTexts, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MaskRequest) (activities.MaskResult, error) {
		return activities.MaskResult{Texts: in.Texts, Vault: in.Vault}, nil
	})
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		attempts = append(attempts, in.Attempt)
		switch {
		case in.LinkIndex == 0 && in.Attempt == 1:
			return activities.LinkResult{}, temporal.NewApplicationErrorWithOptions("HTTP 429", activities.ErrTypeUnavailable,
				temporal.ApplicationErrorOptions{NextRetryDelay: 7 * time.Second})
		case in.LinkIndex == 0:
			return activities.LinkResult{Text: "after the wait", Provider: in.Provider, Model: in.Request.Model, Attempt: in.Attempt}, nil
		}
		return activities.LinkResult{}, errors.New("unexpected link")
	})
	role := roles.Role{Code: "r1", SystemMessage: "s", Chain: []roles.Link{{Provider: "local", Model: "m", Attempts: 3, Unlimited: true}}}
	start := env.Now()
	env.ExecuteWorkflow(RoleCallWorkflow, RoleCallInput{Role: role, Messages: []llm.Message{{Role: "user", Content: "hi"}}})
	require.NoError(t, env.GetWorkflowError())
	var res RoleCallResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "after the wait", res.Text)
	require.Equal(t, []int{1, 2}, attempts, "each attempt is its own local activity, numbered by the workflow")
	require.Equal(t, 2, res.Attempts)
	require.GreaterOrEqual(t, env.Now().Sub(start), 7*time.Second, "the workflow waited for Retry-After on a timer")
}

func TestBudgetFreeLinkStopsOnNonRetryable(t *testing.T) {
	env, acts := newEnv(t)
	calls := 0
	env.OnActivity(acts.MaskTexts, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MaskRequest) (activities.MaskResult, error) {
		return activities.MaskResult{Texts: in.Texts, Vault: in.Vault}, nil
	})
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		calls++
		if in.LinkIndex == 0 {
			return activities.LinkResult{}, temporal.NewNonRetryableApplicationError("HTTP 401", activities.ErrTypeRejected, nil)
		}
		return activities.LinkResult{Text: "second link", Attempt: 1}, nil
	})
	role := roles.Role{Code: "r1", SystemMessage: "s", Chain: []roles.Link{
		{Provider: "local", Model: "m", Attempts: 5, Unlimited: true},
		{Provider: "local", Model: "n", Attempts: 5, Unlimited: true},
	}}
	env.ExecuteWorkflow(RoleCallWorkflow, RoleCallInput{Role: role, Messages: []llm.Message{{Role: "user", Content: "hi"}}})
	require.NoError(t, env.GetWorkflowError())
	var res RoleCallResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 1, res.LinkIndex)
	require.Equal(t, 2, calls, "a non-retryable failure is not retried")
}

// firing is the signal of a notification in which the alerts fire.
func firing(alerts ...profile.Alert) AlertsSignal {
	var s AlertsSignal
	for _, a := range alerts {
		s.Firing = append(s.Firing, incident.GroupAlertOf(a))
	}
	return s
}

func TestIncidentGroupFoldsAlertsAndResolves(t *testing.T) {
	env, acts := newEnv(t)
	var saved []incident.Record
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(func(_ context.Context, in incident.Record) error {
		saved = append(saved, in)
		return nil
	})
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(func(_ context.Context, code string) (roles.Role, error) {
		r, _ := roles.Default(code)
		return r, nil
	})
	reports := 0
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		reports++
		return acts.CallLink(ctx, in)
	})
	first := exampleAlert(t, "slow-sql")
	first.Fingerprint = "fp-1"
	second := first
	second.Fingerprint, second.Instance = "fp-2", "prod-test-api-2"
	late := first
	late.Fingerprint, late.Instance = "fp-3", "prod-test-api-3"

	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, firing(second)) }, 5*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, firing(first)) }, 10*time.Second) // a resend
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, firing(late)) }, 2*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, firing(late)) }, 3*time.Minute) // a resend
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAlerts, AlertsSignal{Resolved: []string{"fp-1", "fp-2"}})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAlerts, AlertsSignal{Resolved: []string{"fp-3"}})
	}, 2*time.Hour)
	start := env.Now()
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: first, GroupKey: "{}:{alertname=\"SlowSQL\"}", Window: 30 * time.Second, Lifetime: 24 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	var res IncidentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, IncidentResolved, res.Status)
	require.Equal(t, 1, reports, "one report for the whole group, resends and late alerts included")
	last := saved[len(saved)-1]
	require.Equal(t, IncidentResolved, last.Status)
	require.Len(t, last.Details.Group, 3, "three distinct alerts, resends folded")
	for _, g := range last.Details.Group {
		require.Equal(t, "resolved", g.Status)
	}
	elapsed := env.Now().Sub(start)
	require.GreaterOrEqual(t, elapsed, 2*time.Hour, "the incident closed when the last alert resolved")
	require.Less(t, elapsed, 24*time.Hour)
}

// A storm is one signal per notification: 6,700 alerts in one AlertsSignal join the group, one
// report is written, and a notification that resolves them all while the group is still being
// collected resolves the incident as soon as the report is written.
func TestIncidentStormInOneSignal(t *testing.T) {
	env, acts := newEnv(t)
	var saved []incident.Record
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(func(_ context.Context, in incident.Record) error {
		saved = append(saved, in)
		return nil
	})
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(func(_ context.Context, code string) (roles.Role, error) {
		r, _ := roles.Default(code)
		return r, nil
	})
	first := exampleAlert(t, "slow-sql")
	first.Fingerprint = "fp-0"
	storm := AlertsSignal{}
	var fps []string
	for i := range 6700 {
		a := first
		a.Fingerprint, a.Instance = fmt.Sprintf("fp-%d", i), fmt.Sprintf("pod-%d", i)
		storm.Firing = append(storm.Firing, incident.GroupAlertOf(a))
		fps = append(fps, a.Fingerprint)
	}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, storm) }, 5*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, AlertsSignal{Resolved: fps}) }, 10*time.Second)
	start := env.Now()
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: first, GroupKey: "{}:{alertname=\"SlowSQL\"}", Window: 30 * time.Second, Lifetime: 24 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	var res IncidentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, IncidentResolved, res.Status)
	require.Len(t, saved[len(saved)-1].Details.Group, 6700, "the first alert's resend folded into the storm")
	require.Less(t, env.Now().Sub(start), time.Hour, "resolved once the report was written, not at the end of its lifetime")
}

func TestIncidentGroupStillFiringContinuesAsNew(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(func(_ context.Context, code string) (roles.Role, error) {
		r, _ := roles.Default(code)
		return r, nil
	})
	reports := 0
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		reports++
		return acts.CallLink(ctx, in)
	})
	first := exampleAlert(t, "slow-sql")
	first.Fingerprint = "fp-1"
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: first, GroupKey: "g", Window: time.Second, Lifetime: time.Hour})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "an incident whose alert still fires continues as new: %v", err)
	require.Equal(t, 1, reports)
	// The next run follows without a new report.
	var next IncidentInput
	require.NoError(t, converterDecode(can, &next))
	require.NotNil(t, next.Carry)
	require.Len(t, next.Carry.Group, 1)
	require.NotEmpty(t, next.Carry.Result.Report)
	require.Equal(t, severityRank["critical"], next.Carry.AskedSeverity,
		"the severity the on-call was asked about carries over, so the next run does not ask again")
}

func converterDecode(can *workflow.ContinueAsNewError, v any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, v)
}
