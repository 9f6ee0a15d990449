package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	PeopleFor func(app string) []oncall.Person
}

// OnCall holds the on-call's activities and what they use. Workflows reference its methods
// through a nil *OnCall.
type OnCall struct {
	// Store keeps the call records (one call per key).
	Store  store.Store
	Logger *slog.Logger
	// Phone places the calls (twilio; nil: not configured).
	Phone phone.Caller
	// PublicURL is Vigil's external base URL, for the phone provider's callbacks.
	PublicURL string
	// Config is who is paged for what.
	Config OnCallConfig
}

func (a *OnCall) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// OnCallEnabled reports whether an incident of this severity and application is handed to
// the on-call: phone calls are configured, the severity is listed and someone is on the rota.
func (a *OnCall) OnCallEnabled(_ context.Context, severity, app string) (bool, error) {
	if a.Phone == nil || a.Config.PeopleFor == nil || !slices.Contains(a.Config.Severities, strings.ToLower(severity)) {
		return false, nil
	}
	return len(a.Config.PeopleFor(app)) > 0, nil
}

// PlanOnCall returns the escalation order for an application.
func (a *OnCall) PlanOnCall(_ context.Context, app string) (oncall.Plan, error) {
	p := oncall.Plan{AckTimeout: a.Config.AckTimeout, Rounds: a.Config.Rounds, Language: a.Config.Language}
	if p.AckTimeout <= 0 {
		p.AckTimeout = 5 * time.Minute
	}
	if p.Rounds <= 0 {
		p.Rounds = 1
	}
	switch {
	case a.Phone == nil:
		p.Reason = "no phone provider is configured (twilio.account_sid)"
	case a.Config.PeopleFor == nil:
		p.Reason = "no rota is configured (oncall.rota)"
	default:
		p.People = a.Config.PeopleFor(app)
		if len(p.People) == 0 {
			p.Reason = fmt.Sprintf("nobody is on the rota for %s (oncall.rota)", app)
		}
	}
	return p, nil
}

// ParsePageDecision decodes the oncall-triager's JSON answer (already checked against the
// role's schema by the link activity).
func (a *OnCall) ParsePageDecision(_ context.Context, text string) (oncall.Decision, error) {
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
func (a *OnCall) PlaceCall(ctx context.Context, in PlaceCallRequest) (PlacedCall, error) {
	if a.Phone == nil {
		return PlacedCall{}, temporal.NewNonRetryableApplicationError("no phone provider is configured (twilio.account_sid)", ErrTypeCallRejected, nil)
	}
	if d, err := a.Store.GetDelivery(ctx, in.Key, "phone"); err == nil && d.Status == "sent" {
		return PlacedCall{SID: d.Detail, Status: "queued", Repeat: true}, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		// Vigil's database may be part of the outage: calling once more is better than
		// calling nobody.
		a.logger().Warn("call record unreadable; calling anyway", "key", in.Key, "error", err)
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
		a.logger().Error("record call", "key", in.Key, "error", err)
	}
	return PlacedCall{SID: res.SID, Status: res.Status}, nil
}

// HangupCall ends a call still ringing or in progress when the page is over (acknowledged by
// someone else, or the incident resolved). A provider that cannot hang up is not an error.
func (a *OnCall) HangupCall(ctx context.Context, callSID string) error {
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
