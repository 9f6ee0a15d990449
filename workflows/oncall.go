package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/oncall"
	"github.com/vigil-ops/vigil/roles"
)

// OnCallRole is the role that decides whether to page and writes the message read out.
const OnCallRole = "oncall-triager"

// Names of the on-call workflow's query, update and signal.
const (
	QueryOnCall      = "oncall"
	UpdateAck        = "ack"
	SignalCallStatus = "call-status"
	// SignalIncidentResolved tells the on-call that its incident resolved: paging stops.
	SignalIncidentResolved = "incident-resolved"
)

// OnCallWorkflowType is the name the OnCallWorkflow is registered under.
const OnCallWorkflowType = "OnCallWorkflow"

// Types of the ApplicationErrors an acknowledgement is refused with (the ack Update's validator
// and handler), so that a caller tells them apart without reading their text.
const (
	ErrTypeAlreadyAcknowledged = "AlreadyAcknowledged" // someone else acknowledged first
	ErrTypeNotPaging           = "NotPaging"           // nobody is being paged: over, or resolved
	ErrTypeNoCallStep          = "NoCallStep"          // a phone acknowledgement of a call never placed
	ErrTypeInvalidAck          = "InvalidAck"          // neither who nor which call, or an unknown via
)

// On-call statuses.
const (
	OnCallDeciding       = "deciding"
	OnCallNotPaged       = "not-paged"
	OnCallPaging         = "paging"
	OnCallAcknowledged   = "acknowledged"
	OnCallUnacknowledged = "unacknowledged"
	OnCallNobody         = "nobody-to-page"
	OnCallResolved       = "resolved" // the incident resolved before anyone acknowledged
)

// OnCallWorkflowID derives the on-call's workflow ID from the incident's episode: one page per
// incident episode, however often it is asked for.
func OnCallWorkflowID(incidentKey string) string { return "oncall-" + sanitizeID(incidentKey) }

// OnCallInput starts an OnCallWorkflow for an incident.
type OnCallInput struct {
	IncidentID  string `json:"incidentId"`
	Application string `json:"application"`
	Rule        string `json:"rule"`
	Severity    string `json:"severity"`
	// Summary is the incident report's summary, the facts the triager judges.
	Summary string `json:"summary"`
	Client  string `json:"client"`
}

// Ack is an acknowledgement: from the phone (the person pressed 1) or the API.
type Ack struct {
	By   string `json:"by,omitempty"` // who; for a phone ack, the person of the step
	Step int    `json:"step,omitempty"`
	Via  string `json:"via"` // phone | api
}

// CallStatus is a call's progress reported by the phone provider.
type CallStatus struct {
	Step    int    `json:"step"`
	CallSID string `json:"callSid"`
	Status  string `json:"status"` // initiated, ringing, in-progress, completed, busy, no-answer, failed, canceled
}

// CallAttempt is one call of the escalation.
type CallAttempt struct {
	Step    int       `json:"step"`
	Round   int       `json:"round"`
	Person  string    `json:"person"`
	Phone   string    `json:"phone"`
	At      time.Time `json:"at"`
	CallSID string    `json:"callSid,omitempty"`
	Status  string    `json:"status"` // placed, then the provider's statuses; failed when it could not be placed
	Error   string    `json:"error,omitempty"`
}

// OnCallState is what GET /v1/oncall/{id} and QueryOnCall show.
type OnCallState struct {
	Input    OnCallInput            `json:"input"`
	Status   string                 `json:"status"`
	Decision *oncall.Decision       `json:"decision,omitempty"`
	Attempts []CallAttempt          `json:"attempts"`
	AckedBy  string                 `json:"ackedBy,omitempty"`
	AckedAt  *time.Time             `json:"ackedAt,omitempty"`
	AckVia   string                 `json:"ackVia,omitempty"`
	AckStep  int                    `json:"ackStep,omitempty"` // the call that was answered with 1
	Error    string                 `json:"error,omitempty"`
	Notified []notify.DeliveryState `json:"notified,omitempty"`
}

// OnCallWorkflow pages the person in charge of an incident:
//  1. the role oncall-triager decides from the severity and the report's summary whether a
//     person must be woken, and writes the message (the built-in triager pages for critical);
//  2. the rota gives the escalation order of the incident's application;
//  3. each person in turn is called with text-to-speech (one activity per call, placed once)
//     and has oncall.ack_timeout to acknowledge — pressing 1 on the call, or the ack Update
//     (POST /v1/oncall/{id}/ack); a call that is busy, unanswered or failed moves on at once;
//  4. after oncall.rounds walks through the rota without an acknowledgement, the notify
//     channels are told that nobody acknowledged;
//  5. the incident resolving (SignalIncidentResolved, from the incident) stops the paging.
func OnCallWorkflow(ctx workflow.Context, in OnCallInput) (OnCallState, error) {
	w := &onCallWorkflow{st: OnCallState{Input: in, Status: OnCallDeciding, Attempts: []CallAttempt{}}}
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	return w.run(ctx)
}

type onCallWorkflow struct {
	st       OnCallState
	plan     oncall.Plan
	acked    bool
	resolved bool
}

func (w *onCallWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryOnCall, func() (OnCallState, error) { return w.st, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAck, func(ctx workflow.Context, ack Ack) (OnCallState, error) {
		now := workflow.Now(ctx)
		if w.acked { // two acknowledgements validated together: the first one counts
			if ack.By != "" && ack.By == w.st.AckedBy {
				return w.st, nil // the same acknowledgement again (a client's retry)
			}
			return w.st, temporal.NewApplicationError("already acknowledged by "+w.st.AckedBy, ErrTypeAlreadyAcknowledged)
		}
		if ack.By == "" && ack.Step > 0 && ack.Step <= len(w.st.Attempts) {
			ack.By = w.st.Attempts[ack.Step-1].Person
		}
		w.acked, w.st.AckedBy, w.st.AckedAt, w.st.AckVia, w.st.AckStep = true, ack.By, &now, ack.Via, ack.Step
		return w.st, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ack Ack) error {
		switch {
		case w.acked && ack.By != "" && ack.By == w.st.AckedBy:
			return nil // idempotent: the same person again
		case w.acked:
			return temporal.NewApplicationError("already acknowledged by "+w.st.AckedBy, ErrTypeAlreadyAcknowledged)
		case w.resolved:
			return temporal.NewApplicationError("the incident resolved: nobody is being paged", ErrTypeNotPaging)
		case w.st.Status != OnCallPaging && w.st.Status != OnCallDeciding:
			return temporal.NewApplicationError(fmt.Sprintf("nobody is being paged (status %s)", w.st.Status), ErrTypeNotPaging)
		case ack.Via != "phone" && ack.Via != "api":
			return temporal.NewApplicationError(`via must be "phone" or "api"`, ErrTypeInvalidAck)
		case ack.By == "" && ack.Step == 0:
			return temporal.NewApplicationError("by is required", ErrTypeInvalidAck)
		case ack.Step < 0 || ack.Step > len(w.st.Attempts):
			return temporal.NewApplicationError(fmt.Sprintf("no call step %d", ack.Step), ErrTypeNoCallStep)
		}
		return nil
	}}); err != nil {
		return err
	}
	statuses := workflow.GetSignalChannel(ctx, SignalCallStatus)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var cs CallStatus
			statuses.Receive(ctx, &cs)
			if cs.Step < 1 || cs.Step > len(w.st.Attempts) {
				continue
			}
			at := &w.st.Attempts[cs.Step-1]
			switch {
			case at.CallSID != "" && cs.CallSID != "" && cs.CallSID != at.CallSID:
				// Another call's callback (a duplicate placed by a retried request): not this step's.
			case callGaveUp(at.Status) || at.Status == "failed":
				// Callbacks arrive out of order: a finished call stays finished.
			default:
				at.Status = cs.Status
			}
		}
	})
	resolvedCh := workflow.GetSignalChannel(ctx, SignalIncidentResolved)
	workflow.Go(ctx, func(ctx workflow.Context) {
		resolvedCh.Receive(ctx, nil)
		w.resolved = true
	})
	return workflow.UpsertTypedSearchAttributes(ctx, SearchAttrKind.ValueSet("oncall"),
		SearchAttrApplication.ValueSet(w.st.Input.Application), SearchAttrSeverity.ValueSet(w.st.Input.Severity),
		SearchAttrState.ValueSet(OnCallDeciding))
}

func (w *onCallWorkflow) setStatus(ctx workflow.Context, s string) {
	w.st.Status = s
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrState.ValueSet(s))
}

func (w *onCallWorkflow) run(ctx workflow.Context) (OnCallState, error) {
	var gw *activities.Gateway
	var oc *activities.OnCall
	in := w.st.Input
	lactx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})

	// 1. The decision.
	// Without a usable role or answer the built-in triager decides (by severity): a broken
	// role must not keep the person in charge from being called.
	builtin := func(why string) *oncall.Decision {
		d := oncall.Write(oncall.Task{Application: in.Application, Rule: in.Rule, Severity: in.Severity, Summary: in.Summary})
		d.Reason += " (" + why + ")"
		return &d
	}
	var role roles.Role
	err := workflow.ExecuteLocalActivity(lactx, gw.ResolveRole, OnCallRole).Get(ctx, &role)
	var answer RoleCallResult
	if err == nil {
		answer, err = CallRole(ctx, RoleCallInput{
			Role: role, Client: in.Client, Subject: "oncall/" + in.IncidentID,
			Messages: []llm.Message{{Role: "user", Content: fmt.Sprintf(
				"Incident %s on %s (rule %s), severity %s.\n\nReport summary:\n%s", in.IncidentID, in.Application, in.Rule, in.Severity, in.Summary)}},
			Task: &llm.Task{Kind: oncall.TaskDecision, Data: oncall.Task{IncidentID: in.IncidentID, Application: in.Application,
				Rule: in.Rule, Severity: in.Severity, Summary: in.Summary}},
		})
	}
	if err != nil {
		w.st.Decision = builtin("the triager did not answer: " + errMessage(err))
	} else {
		var d oncall.Decision
		if err := workflow.ExecuteLocalActivity(lactx, oc.ParsePageDecision, answer.Text).Get(ctx, &d); err != nil {
			w.st.Decision = builtin("the triager's answer was unusable: " + errMessage(err))
		} else {
			w.st.Decision = &d
		}
	}
	if w.acked { // someone took it while the triager was deciding: nobody needs calling
		w.setStatus(ctx, OnCallAcknowledged)
		return w.st, nil
	}
	if !w.st.Decision.Page {
		w.setStatus(ctx, OnCallNotPaged)
		return w.st, nil
	}

	// 2. Who is in charge.
	if err := workflow.ExecuteLocalActivity(lactx, oc.PlanOnCall, in.Application).Get(ctx, &w.plan); err != nil {
		w.st.Error = errMessage(err)
		return w.st, err
	}
	if len(w.plan.People) == 0 {
		w.st.Error = w.plan.Reason
		w.setStatus(ctx, OnCallNobody)
		w.notifyUnacknowledged(ctx)
		return w.st, nil
	}

	// 3. Call, wait, escalate.
	w.setStatus(ctx, OnCallPaging)
	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 4, NonRetryableErrorTypes: []string{activities.ErrTypeCallRejected}},
	})
	firstRun := workflow.GetInfo(ctx).FirstRunID
	wid := workflow.GetInfo(ctx).WorkflowExecution.ID
	step := 0
	for round := 1; round <= w.plan.Rounds && !w.acked && !w.resolved; round++ {
		for _, p := range w.plan.People {
			if w.acked || w.resolved {
				break
			}
			step++
			w.st.Attempts = append(w.st.Attempts, CallAttempt{Step: step, Round: round, Person: p.Name, Phone: p.Phone,
				At: workflow.Now(ctx), Status: "calling"})
			var placed activities.PlacedCall
			err := workflow.ExecuteActivity(cctx, oc.PlaceCall, activities.PlaceCallRequest{
				WorkflowID: wid, Key: fmt.Sprintf("%s/%s/call-%d", wid, firstRun, step), Step: step,
				To: p.Phone, Message: w.st.Decision.Message, Language: w.plan.Language,
			}).Get(ctx, &placed)
			at := &w.st.Attempts[step-1]
			if err != nil {
				at.Status, at.Error = "failed", errMessage(err)
				continue // the next person, at once
			}
			at.CallSID = placed.SID
			if at.Status == "calling" { // a status callback may already have come
				at.Status = "placed"
			}
			cur := step
			_, _ = workflow.AwaitWithTimeout(ctx, w.plan.AckTimeout, func() bool {
				return w.acked || w.resolved || callGaveUp(w.st.Attempts[cur-1].Status)
			})
		}
	}
	// Let an acknowledgement that is being handled finish before deciding.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	w.hangUp(ctx, cctx)
	if w.acked {
		w.setStatus(ctx, OnCallAcknowledged)
		return w.st, nil
	}
	if w.resolved {
		w.setStatus(ctx, OnCallResolved)
		return w.st, nil
	}
	w.setStatus(ctx, OnCallUnacknowledged)
	w.notifyUnacknowledged(ctx)
	return w.st, nil
}

// hangUp ends the last call when the page ended while it may still ring: acknowledged through
// the API or another call, or the incident resolved. The call answered with 1 ends by itself.
func (w *onCallWorkflow) hangUp(ctx, cctx workflow.Context) {
	if !w.acked && !w.resolved || len(w.st.Attempts) == 0 {
		return
	}
	at := &w.st.Attempts[len(w.st.Attempts)-1]
	if at.CallSID == "" || callGaveUp(at.Status) || at.Status == "failed" || (w.acked && w.st.AckStep == at.Step) {
		return
	}
	var oc *activities.OnCall
	if err := workflow.ExecuteActivity(cctx, oc.HangupCall, at.CallSID).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("hang up", "call", at.CallSID, "error", err)
		return
	}
	at.Status = "hung-up"
}

// callGaveUp reports whether a call is over without an acknowledgement coming from it: busy,
// unanswered, failed, declined (a key other than 1) or completed (answered, then hung up).
func callGaveUp(status string) bool {
	switch status {
	case "busy", "no-answer", "failed", "canceled", "completed", "declined":
		return true
	}
	return false
}

// notifyUnacknowledged tells the notify channels that nobody could be reached, once.
func (w *onCallWorkflow) notifyUnacknowledged(ctx workflow.Context) {
	in := w.st.Input
	var b strings.Builder
	b.WriteString(fmt.Sprintf("Nobody acknowledged the %s incident %s on %s (%s).\n", in.Severity, in.IncidentID, in.Application, in.Rule))
	if w.st.Error != "" {
		b.WriteString(w.st.Error + "\n")
	}
	for _, at := range w.st.Attempts {
		b.WriteString(fmt.Sprintf("- call %d (round %d) to %s: %s", at.Step, at.Round, at.Person, at.Status))
		if at.Error != "" {
			b.WriteString(" — " + at.Error)
		}
		b.WriteString("\n")
	}
	if w.st.Decision != nil {
		b.WriteString("\nMessage: " + w.st.Decision.Message + "\n")
	}
	w.st.Notified = deliverAll(ctx, notify.Message{
		IncidentID:  workflow.GetInfo(ctx).WorkflowExecution.ID + "/" + workflow.GetInfo(ctx).FirstRunID + "/unacknowledged",
		Title:       fmt.Sprintf("[unacknowledged] %s on %s", in.Rule, in.Application),
		Text:        b.String(),
		Severity:    "critical",
		Application: in.Application, Rule: in.Rule, Status: w.st.Status,
		URL: "/v1/oncall/" + workflow.GetInfo(ctx).WorkflowExecution.ID,
	})
}
