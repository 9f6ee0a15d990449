package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/oncall"
	"github.com/vigil-ops/vigil/phone"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/roles"
)

// fakePhone records the calls placed.
type fakePhone struct {
	mu    sync.Mutex
	calls []phone.CallRequest
	fail  map[string]error // by number
}

func (f *fakePhone) Call(_ context.Context, r phone.CallRequest) (phone.CallResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[r.To]; err != nil {
		return phone.CallResult{}, err
	}
	f.calls = append(f.calls, r)
	return phone.CallResult{SID: fmt.Sprintf("CA%032d", len(f.calls)), Status: "queued"}, nil
}

func (f *fakePhone) to() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.To)
	}
	return out
}

var rota = []oncall.Person{{Name: "Kim", Phone: "+15551230001"}, {Name: "Lee", Phone: "+15551230002"}}

func newOnCallEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *testActs, *fakePhone) {
	env, acts, _ := newChangeEnv(t) // an in-memory store keeps the call records
	fp := &fakePhone{}
	acts.OnCall.Phone, acts.OnCall.PublicURL = fp, "https://vigil.example.com"
	acts.OnCall.Config = activities.OnCallConfig{Severities: []string{"critical"}, AckTimeout: 5 * time.Minute, Rounds: 2,
		PeopleFor: func(string) []oncall.Person { return rota }}
	env.OnActivity(acts.NotifyChannels, mock.Anything).Return([]string{"email"}, nil)
	return env, acts, fp
}

var critical = OnCallInput{IncidentID: "inc-1", Application: "checkout-api", Rule: "SlowSQL", Severity: "critical",
	Summary: "SlowSQL alert on checkout-api. The SELECT on orders took 8,413 ms."}

var ackSeq int

func ack(env *testsuite.TestWorkflowEnvironment, a Ack, rejected *error) {
	ackSeq++
	env.UpdateWorkflow(UpdateAck, fmt.Sprintf("ack-%d", ackSeq), &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { *rejected = err },
		OnComplete: func(_ any, err error) {
			if err != nil {
				*rejected = err
			}
		},
	}, a)
}

// Kim does not answer within the timeout; Lee is called and presses 1.
func TestOnCallEscalatesUntilAcknowledged(t *testing.T) {
	env, _, fp := newOnCallEnv(t)
	var rejected error
	env.RegisterDelayedCallback(func() { ack(env, Ack{Step: 2, Via: "phone"}, &rejected) }, 7*time.Minute)
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, rejected)
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, OnCallAcknowledged, st.Status)
	require.Equal(t, "Lee", st.AckedBy)
	require.Equal(t, "phone", st.AckVia)
	require.Equal(t, []string{"+15551230001", "+15551230002"}, fp.to())
	require.True(t, st.Decision.Page)
	require.Contains(t, fp.calls[0].Message, "critical incident on checkout api")
	require.Contains(t, fp.calls[1].AckURL, "https://vigil.example.com/v1/oncall/")
	require.Contains(t, fp.calls[1].AckURL, "/twilio/gather?step=2")
	require.Len(t, st.Attempts, 2)
	require.Equal(t, "CA00000000000000000000000000000001", st.Attempts[0].CallSID)
}

// Nobody answers: every person is called in each round, then the channels are told, once.
func TestOnCallGivesUpAfterTheRounds(t *testing.T) {
	env, acts, fp := newOnCallEnv(t)
	var sent []activities.DeliverRequest
	env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverRequest) (activities.DeliveryResult, error) {
		sent = append(sent, in)
		return activities.DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
	})
	start := env.Now()
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, OnCallUnacknowledged, st.Status)
	require.Equal(t, []string{"+15551230001", "+15551230002", "+15551230001", "+15551230002"}, fp.to())
	require.GreaterOrEqual(t, env.Now().Sub(start), 20*time.Minute, "4 calls × 5 minutes")
	require.Len(t, sent, 1)
	require.Equal(t, "[unacknowledged] SlowSQL on checkout-api", sent[0].Message.Title)
	require.Contains(t, sent[0].Message.Text, "call 4 (round 2) to Lee")
}

// A busy line or an unanswered call moves on at once; a number the provider refuses too.
func TestOnCallMovesOnWhenACallFails(t *testing.T) {
	env, _, fp := newOnCallEnv(t)
	fp.fail = map[string]error{"+15551230002": &phone.Error{Status: 400, Code: 21211, Message: "invalid To", Retryable: false}}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalCallStatus, CallStatus{Step: 1, Status: "busy"})
	}, time.Minute)
	var rejected error
	env.RegisterDelayedCallback(func() { ack(env, Ack{By: "Kim", Via: "api"}, &rejected) }, 2*time.Minute)
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, OnCallAcknowledged, st.Status)
	require.Equal(t, "busy", st.Attempts[0].Status)
	require.Equal(t, "failed", st.Attempts[1].Status)
	require.Contains(t, st.Attempts[1].Error, "CallRejected")
	require.Equal(t, "Kim", st.Attempts[2].Person, "round 2 started at once")
	require.Equal(t, "Kim", st.AckedBy)
}

// The triager does not page for a warning.
func TestOnCallDoesNotPageForAWarning(t *testing.T) {
	env, _, fp := newOnCallEnv(t)
	in := critical
	in.Severity = "warning"
	env.ExecuteWorkflow(OnCallWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, OnCallNotPaged, st.Status)
	require.False(t, st.Decision.Page)
	require.Empty(t, fp.to())
}

// Someone who takes the incident while the triager is still deciding ends the page before
// anyone is called.
func TestOnCallAcknowledgedWhileDeciding(t *testing.T) {
	env, _, fp := newOnCallEnv(t)
	var rejected error
	env.RegisterDelayedCallback(func() { ack(env, Ack{By: "Kim", Via: "api"}, &rejected) }, 0)
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, rejected)
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, OnCallAcknowledged, st.Status)
	require.Equal(t, "Kim", st.AckedBy)
	require.Empty(t, fp.to())
}

func TestOnCallAckValidation(t *testing.T) {
	env, _, _ := newOnCallEnv(t)
	var noBy, badVia, ok error
	env.RegisterDelayedCallback(func() { ack(env, Ack{Via: "api"}, &noBy) }, time.Minute)
	env.RegisterDelayedCallback(func() { ack(env, Ack{By: "Kim", Via: "fax"}, &badVia) }, time.Minute+time.Second)
	env.RegisterDelayedCallback(func() { ack(env, Ack{By: "Kim", Via: "api"}, &ok) }, 2*time.Minute)
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	require.ErrorContains(t, noBy, "by is required")
	require.ErrorContains(t, badVia, `via must be "phone" or "api"`)
	requireRefusal(t, noBy, ErrTypeInvalidAck)
	requireRefusal(t, badVia, ErrTypeInvalidAck)
	require.NoError(t, ok)
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "Kim", st.AckedBy)
}

// Acknowledgements that arrive together: the first counts, another person's is refused by the
// validator ("already acknowledged"), the same person's again is accepted without change.
func TestOnCallSecondAcknowledgementValidated(t *testing.T) {
	env, _, _ := newOnCallEnv(t)
	var first, other, again error
	env.RegisterDelayedCallback(func() {
		ack(env, Ack{By: "Kim", Via: "api"}, &first)
		ack(env, Ack{By: "Lee", Via: "api"}, &other)
		ack(env, Ack{By: "Kim", Via: "phone"}, &again)
	}, time.Minute)
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, first)
	require.ErrorContains(t, other, "already acknowledged by Kim")
	requireRefusal(t, other, ErrTypeAlreadyAcknowledged)
	require.NoError(t, again, "the same person's acknowledgement again is idempotent")
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "Kim", st.AckedBy)
	require.Equal(t, "api", st.AckVia, "the first acknowledgement counts")
}

// requireRefusal checks that an acknowledgement was refused with an ApplicationError of type typ
// (what the API maps to a status).
func requireRefusal(t *testing.T, err error, typ string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, typ, appErr.Type())
}

func TestReportSummary(t *testing.T) {
	require.Equal(t, "SlowSQL alert on checkout-api. Cause: slow SQL.",
		reportSummary("[Summary]\nSlowSQL alert on checkout-api.\nCause: slow SQL.\n\n[Transaction]\n- URL: /x"))
	require.Equal(t, "plain text", reportSummary("plain text"))
}

// The incident resolving stops the paging: nobody else is called, nobody is told.
func TestOnCallStopsWhenTheIncidentResolves(t *testing.T) {
	env, acts, fp := newOnCallEnv(t)
	sent := 0
	env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeliverRequest) (activities.DeliveryResult, error) {
		sent++
		return activities.DeliveryResult{Channel: in.Channel, Status: "sent"}, nil
	})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalIncidentResolved, nil) }, 2*time.Minute)
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, OnCallResolved, st.Status)
	require.Equal(t, []string{"+15551230001"}, fp.to())
	require.Equal(t, 0, sent)
}

// Callbacks arrive out of order and from other calls: a finished call stays finished, another
// call's status is not this step's.
func TestOnCallCallStatusesInAnyOrder(t *testing.T) {
	env, _, fp := newOnCallEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalCallStatus, CallStatus{Step: 1, CallSID: "CA-other", Status: "busy"}) // not Kim's call
	}, 30*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalCallStatus, CallStatus{Step: 1, CallSID: "CA00000000000000000000000000000001", Status: "no-answer"})
		env.SignalWorkflow(SignalCallStatus, CallStatus{Step: 1, CallSID: "CA00000000000000000000000000000001", Status: "ringing"})
	}, time.Minute)
	var rejected error
	env.RegisterDelayedCallback(func() { ack(env, Ack{Step: 2, Via: "phone"}, &rejected) }, 90*time.Second)
	env.ExecuteWorkflow(OnCallWorkflow, critical)
	require.NoError(t, env.GetWorkflowError())
	var st OnCallState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "no-answer", st.Attempts[0].Status)
	require.Equal(t, []string{"+15551230001", "+15551230002"}, fp.to(), "Lee called after Kim's no-answer, not after 5 minutes")
	require.Equal(t, "Lee", st.AckedBy)
}

// An incident whose report cannot be written still pages for its critical alert.
func TestFailedIncidentStillPages(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(roles.Role{}, errors.New("role store is down"))
	env.OnActivity(acts.OnCall.OnCallEnabled, mock.Anything, "critical", "checkout-api").Return(true, nil)
	var paged OnCallInput
	env.OnWorkflow(OnCallWorkflow, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in OnCallInput) (OnCallState, error) {
		paged = in
		return OnCallState{Status: OnCallPaging}, nil
	})
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: exampleAlert(t, "slow-sql"), Client: "test"})
	require.Error(t, env.GetWorkflowError(), "the incident itself failed")
	require.Equal(t, "checkout-api", paged.Application)
	require.Contains(t, paged.Summary, "The incident report could not be written.")
}

// A group is paged for its most severe alert: a critical alert joining a warning's group pages,
// and the resolution of the group reaches the page.
func TestGroupPagesForItsMostSevereAlert(t *testing.T) {
	env, paged, warning, crit := groupPageEnv(t)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, firing(crit)) }, 5*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAlerts, AlertsSignal{Resolved: []string{"fp-1", "fp-2"}})
	}, time.Hour)
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: warning, GroupKey: "{}:{alertname=\"SlowSQL\"}", Window: 30 * time.Second, Lifetime: 24 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, *paged, 1)
	require.Equal(t, "critical", (*paged)[0].Severity)
}

// A critical alert that joins a warning's group after its report pages then, once.
func TestLateCriticalAlertPages(t *testing.T) {
	env, paged, warning, crit := groupPageEnv(t)
	other := crit
	other.Fingerprint, other.Instance = "fp-3", "prod-test-api-3"
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, firing(crit)) }, 5*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAlerts, firing(other)) }, 6*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAlerts, AlertsSignal{Resolved: []string{"fp-1", "fp-2", "fp-3"}})
	}, time.Hour)
	env.ExecuteWorkflow(IncidentWorkflow, IncidentInput{Alert: warning, GroupKey: "{}:{alertname=\"SlowSQL\"}", Window: 30 * time.Second, Lifetime: 24 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, *paged, 1, "paged when the critical alert joined, not again for the next")
	require.Equal(t, "critical", (*paged)[0].Severity)
	require.NotEmpty(t, (*paged)[0].Summary, "the report's summary")
}

// groupPageEnv is an incident group's environment where critical incidents page: the pages
// started, a warning alert and a critical one of the same group.
func groupPageEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *[]OnCallInput, profile.Alert, profile.Alert) {
	env, acts := newEnv(t)
	env.OnActivity(acts.SaveIncident, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.ResolveRole, mock.Anything, IncidentRole).Return(func(_ context.Context, code string) (roles.Role, error) {
		r, _ := roles.Default(code)
		return r, nil
	})
	env.OnActivity(acts.OnCall.OnCallEnabled, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, severity, _ string) (bool, error) {
		return severity == "critical", nil
	})
	var paged []OnCallInput
	env.OnWorkflow(OnCallWorkflow, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in OnCallInput) (OnCallState, error) {
		paged = append(paged, in)
		return OnCallState{Status: OnCallPaging}, nil
	})
	warning := exampleAlert(t, "slow-sql")
	warning.Fingerprint, warning.Severity = "fp-1", "warning"
	crit := warning
	crit.Fingerprint, crit.Severity, crit.Instance = "fp-2", "critical", "prod-test-api-2"
	return env, &paged, warning, crit
}
