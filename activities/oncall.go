package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/oncall"
	"github.com/vigil-ops/vigil/phone"
	"github.com/vigil-ops/vigil/store"
)

// ErrTypeCallRejected marks a phone call the provider refused for good (bad number, auth).
const ErrTypeCallRejected = "CallRejected"

// Person is someone the on-call can page.
type Person struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// OnCallConfig is who is paged for what (config oncall).
type OnCallConfig struct {
	// Severities are the incident severities the on-call considers.
	Severities []string
	// AckTimeout is each person's time to acknowledge; Rounds the walks through the rota.
	AckTimeout time.Duration
	Rounds     int
	// Language is the text-to-speech language.
	Language string
	// PeopleFor returns an application's escalation order.
	PeopleFor func(app string) []Person
}

// OnCallPlan is the escalation an incident gets.
type OnCallPlan struct {
	People     []Person      `json:"people"`
	AckTimeout time.Duration `json:"ackTimeout"`
	Rounds     int           `json:"rounds"`
	Language   string        `json:"language"`
	// Reason says why People is empty (no phone provider, nobody on the rota).
	Reason string `json:"reason,omitempty"`
}

// OnCallEnabled reports whether an incident of this severity and application is handed to
// the on-call: phone calls are configured, the severity is listed and someone is on the rota.
func (a *Activities) OnCallEnabled(_ context.Context, severity, app string) (bool, error) {
	if a.Phone == nil || a.OnCall.PeopleFor == nil || !slices.Contains(a.OnCall.Severities, strings.ToLower(severity)) {
		return false, nil
	}
	return len(a.OnCall.PeopleFor(app)) > 0, nil
}

// PlanOnCall returns the escalation order for an application.
func (a *Activities) PlanOnCall(_ context.Context, app string) (OnCallPlan, error) {
	p := OnCallPlan{AckTimeout: a.OnCall.AckTimeout, Rounds: a.OnCall.Rounds, Language: a.OnCall.Language}
	if p.AckTimeout <= 0 {
		p.AckTimeout = 5 * time.Minute
	}
	if p.Rounds <= 0 {
		p.Rounds = 1
	}
	switch {
	case a.Phone == nil:
		p.Reason = "no phone provider is configured (twilio.account_sid)"
	case a.OnCall.PeopleFor == nil:
		p.Reason = "no rota is configured (oncall.rota)"
	default:
		p.People = a.OnCall.PeopleFor(app)
		if len(p.People) == 0 {
			p.Reason = fmt.Sprintf("nobody is on the rota for %s (oncall.rota)", app)
		}
	}
	return p, nil
}

// ParsePageDecision decodes the oncall-triager's JSON answer (already checked against the
// role's schema by the link activity).
func (a *Activities) ParsePageDecision(_ context.Context, text string) (oncall.Decision, error) {
	var d oncall.Decision
	if err := decodeJSONAnswer(text, &d); err != nil {
		return d, temporal.NewNonRetryableApplicationError("page decision is not JSON: "+err.Error(), "BadPageDecision", err)
	}
	if d.Page && strings.TrimSpace(d.Message) == "" {
		return d, temporal.NewNonRetryableApplicationError("page decision without a message to read out", "BadPageDecision", nil)
	}
	return d, nil
}

// PlaceCallRequest asks for one on-call phone call.
type PlaceCallRequest struct {
	// WorkflowID is the on-call workflow's ID: the acknowledgement and status URLs name it.
	WorkflowID string `json:"workflowId"`
	// Key is the call's idempotency key (workflow ID, first run, step).
	Key      string `json:"key"`
	Step     int    `json:"step"`
	To       string `json:"to"`
	Message  string `json:"message"`
	Language string `json:"language"`
}

// PlacedCall is a call the provider accepted.
type PlacedCall struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
	// Repeat is true when an earlier attempt had already placed this call.
	Repeat bool `json:"repeat,omitempty"`
}

// PlaceCall calls a person once: the store records each call by its key, so a retried activity
// or a replayed workflow finds it placed and does not call again. The call reads the message
// and asks the person to press 1; the answer and the call's progress come back to Vigil's
// Twilio webhooks for this workflow.
func (a *Activities) PlaceCall(ctx context.Context, in PlaceCallRequest) (PlacedCall, error) {
	if a.Phone == nil {
		return PlacedCall{}, temporal.NewNonRetryableApplicationError("no phone provider is configured (twilio.account_sid)", ErrTypeCallRejected, nil)
	}
	if d, err := a.Store.GetDelivery(ctx, in.Key, "phone"); err == nil && d.Status == "sent" {
		return PlacedCall{SID: d.Detail, Status: "queued", Repeat: true}, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		// Vigil's database may be part of the outage: calling once more is better than
		// calling nobody.
		a.Logger.Warn("call record unreadable; calling anyway", "key", in.Key, "error", err)
	}
	if a.PublicURL == "" {
		return PlacedCall{}, temporal.NewNonRetryableApplicationError(
			"http.public_url is not set: the call's acknowledgement comes back to it", ErrTypeCallRejected, nil)
	}
	base := strings.TrimRight(a.PublicURL, "/") + "/v1/oncall/" + url.PathEscape(in.WorkflowID) + "/twilio/"
	q := "?step=" + strconv.Itoa(in.Step)
	res, err := a.Phone.Call(ctx, phone.CallRequest{To: in.To, Message: in.Message, Language: in.Language,
		AckURL: base + "gather" + q, StatusURL: base + "status" + q, Key: in.Key})
	attempt := 1
	if activity.IsActivity(ctx) {
		attempt = int(activity.GetInfo(ctx).Attempt)
	}
	if err != nil {
		_ = a.Store.RecordDelivery(ctx, store.Delivery{IncidentID: in.Key, Channel: "phone", Status: "failed", Detail: err.Error(), Attempts: attempt})
		var pe *phone.Error
		if errors.As(err, &pe) && !pe.Retryable {
			return PlacedCall{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCallRejected, nil)
		}
		opts := temporal.ApplicationErrorOptions{}
		if pe != nil && pe.RetryAfter > 0 {
			opts.NextRetryDelay = pe.RetryAfter
		}
		return PlacedCall{}, temporal.NewApplicationErrorWithOptions(err.Error(), "CallFailed", opts)
	}
	if err := a.Store.RecordDelivery(ctx, store.Delivery{IncidentID: in.Key, Channel: "phone", Status: "sent", Detail: res.SID, Attempts: attempt}); err != nil {
		// Placed but not recorded: a retry would call again, so do not fail.
		a.Logger.Error("record call", "key", in.Key, "error", err)
	}
	return PlacedCall{SID: res.SID, Status: res.Status}, nil
}

// HangupCall ends a call still ringing or in progress when the page is over (acknowledged by
// someone else, or the incident resolved). A provider that cannot hang up is not an error.
func (a *Activities) HangupCall(ctx context.Context, callSID string) error {
	h, ok := a.Phone.(phone.Hanger)
	if !ok || callSID == "" {
		return nil
	}
	if err := h.Hangup(ctx, callSID); err != nil {
		var pe *phone.Error
		if errors.As(err, &pe) && !pe.Retryable {
			return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCallRejected, nil)
		}
		return err
	}
	return nil
}
