package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tracesource"
)

// Error types returned by the link activity; the role call decides from them what comes next
// (see the gateway package, which both call paths share).
const (
	ErrTypeRejected    = gateway.ErrTypeRejected
	ErrTypeUnavailable = gateway.ErrTypeUnavailable
	ErrTypeBadAnswer   = gateway.ErrTypeBadAnswer
	// ErrTypeRoleNotFound: the role code names no role.
	ErrTypeRoleNotFound = "RoleNotFound"
)

// Activities holds the dependencies of every activity. Workflows reference its methods through a
// nil *Activities.
type Activities struct {
	Store     store.Store
	Providers *llm.Registry
	Logger    *slog.Logger
	// Thresholds tune the deterministic profile detectors.
	Thresholds analyst.Thresholds
	// Budget is the models' shared rate budget (nil: none).
	Budget gateway.Budget
	// UsageSink, when set, receives every usage-log record too (Elasticsearch).
	UsageSink UsageSink
	// Channels deliver incident reports (e-mail, Slack, webhook).
	Channels []notify.Channel
	// PublicURL is Vigil's external base URL, for links in notifications.
	PublicURL string
	// Traces fetch the profile behind an alert that carries only a trace ID.
	Traces tracesource.Chain
	// Health reads application metrics for change tracking (nil: not configured).
	Health HealthSource
	// Enricher runs the further queries behind a change verdict (nil: not configured).
	Enricher Enricher
	// Exemplars reads the exemplars of an application's latency series (nil: not configured).
	Exemplars ExemplarSource
	// Alerts reads the alerts Alertmanager holds (alertmanager.url; nil: not configured).
	Alerts AlertSource
	// AlertLabel is the alert label that names the application (alertmanager.application_label;
	// "" is DefaultAlertLabel).
	AlertLabel string
	// Deployments lists GitHub deployments for the investigation of an alert
	// (alerts.investigation.github; nil: not configured).
	Deployments DeploymentLister
}

// UsageSink receives LLM call records besides the store.
type UsageSink interface {
	Record(ctx context.Context, c store.LLMCall) error
}

// New returns Activities with default thresholds.
func New(st store.Store, providers *llm.Registry, logger *slog.Logger) *Activities {
	if logger == nil {
		logger = slog.Default()
	}
	if providers == nil {
		providers = llm.NewRegistry(nil)
	}
	return &Activities{Store: st, Providers: providers, Logger: logger, Thresholds: analyst.DefaultThresholds()}
}

// LinkCall is the input of one chain link's activity.
type LinkCall = gateway.LinkCall

// LinkResult is one link's answer.
type LinkResult = gateway.LinkResult

// CallLink sends one request to one provider/model, checks the answer against what the role
// expects and logs the call. Errors are classified into the ErrType* application error types.
func (a *Activities) CallLink(ctx context.Context, in LinkCall) (LinkResult, error) {
	info := activity.GetInfo(ctx)
	attempt := in.AttemptsBefore + int(info.Attempt)
	if in.Attempt > 0 {
		attempt = in.Attempt
	}
	if _, err := a.Providers.Get(in.Provider); err != nil {
		return LinkResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, err)
	}
	if a.Budget != nil && in.Provider != llm.BuiltinName {
		wait, err := a.Budget.Take(ctx, in.Provider, in.Request.Model)
		switch {
		case err != nil:
			// The budget's store failed: the call goes on (the provider's own 429s still apply).
			a.Logger.Warn("rate budget", "provider", in.Provider, "model", in.Request.Model, "error", err)
		case wait > 0:
			// No slot yet: the workflow sleeps durably for the wait (a timer, no worker slot held)
			// and calls again; the attempts made so far go with the error.
			return LinkResult{}, temporal.NewApplicationErrorWithOptions(
				(&gateway.BudgetError{Provider: in.Provider, Model: in.Request.Model, Wait: wait}).Error(), gateway.ErrTypeBudget,
				temporal.ApplicationErrorOptions{NextRetryDelay: wait, Details: []any{attempt - 1}})
		}
	}
	res, err := gateway.CallLink(ctx, a.Providers, in, attempt)
	a.logCall(ctx, in, res, err)
	if err != nil {
		return LinkResult{}, classify(err, attempt)
	}
	return res, nil
}

// classify turns a link failure into a typed application error at the activity boundary, as
// gateway.Classify decides: retryable ones carry the provider's Retry-After as NextRetryDelay.
func classify(err error, attempt int) error {
	if err == nil {
		return nil
	}
	f := gateway.Classify(err, attempt)
	if !f.Retryable {
		return temporal.NewNonRetryableApplicationError(err.Error(), f.Type, nil)
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), f.Type,
		temporal.ApplicationErrorOptions{NextRetryDelay: f.RetryAfter})
}

func (a *Activities) logCall(ctx context.Context, in LinkCall, res LinkResult, callErr error) {
	if a.Store == nil && a.UsageSink == nil {
		return
	}
	info := activity.GetInfo(ctx)
	c := gateway.UsageRecord(in, res, callErr)
	c.ID = fmt.Sprintf("%s/%s/%s/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID, res.Attempt)
	c.WorkflowID, c.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	// The usage log must not fail the call it describes; a failure to log is visible in the logs.
	if a.Store != nil {
		if err := a.Store.RecordLLMCall(ctx, c); err != nil {
			a.Logger.Error("record LLM call", "id", c.ID, "error", err)
		}
	}
	if a.UsageSink != nil {
		if err := a.UsageSink.Record(ctx, c); err != nil {
			a.Logger.Error("ship LLM call", "id", c.ID, "error", err)
		}
	}
}

// ResolveRole returns the latest version of a role from the store, or the built-in default
// when the store has none.
func (a *Activities) ResolveRole(ctx context.Context, code string) (roles.Role, error) {
	if a.Store != nil {
		rv, err := a.Store.GetRole(ctx, code, 0)
		switch {
		case err == nil:
			var r roles.Role
			if err := json.Unmarshal(rv.Spec, &r); err != nil {
				return roles.Role{}, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("role %q version %d is corrupt: %v", code, rv.Version, err), "RoleCorrupt", err)
			}
			r.Version = rv.Version
			return roles.ForCall(r, a.Providers), nil
		case !errors.Is(err, store.ErrNotFound):
			return roles.Role{}, fmt.Errorf("load role %q: %w", code, err)
		}
	}
	if r, ok := roles.Default(code); ok {
		return roles.ForCall(r, a.Providers), nil
	}
	return roles.Role{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("role %q not found", code), ErrTypeRoleNotFound, nil)
}

// Analysis is the deterministic analysis of an alert's profile.
type Analysis struct {
	Facts  []analyst.Fact `json:"facts"`
	Prompt string         `json:"prompt"`
}

// AnalyzeAlert runs the profile detectors and writes the facts prompt for the LLM.
func (a *Activities) AnalyzeAlert(_ context.Context, alert profile.Alert) (Analysis, error) {
	var facts []analyst.Fact
	if alert.Profile != nil {
		facts = analyst.Detect(alert.Profile, a.Thresholds)
	}
	return Analysis{Facts: facts, Prompt: analyst.FactsPrompt(&alert, facts)}, nil
}

// LinkFailure records why a chain link did not answer.
type LinkFailure = gateway.LinkFailure

// IncidentRecord is what an IncidentWorkflow stores about itself. The workflow hands over typed
// values; the activity does the JSON encoding, which has no place in workflow code.
type IncidentRecord struct {
	WorkflowID string           `json:"workflow_id"`
	RunID      string           `json:"run_id"`
	Alert      profile.Alert    `json:"alert"`
	Status     string           `json:"status"`
	Report     string           `json:"report,omitempty"`
	Language   string           `json:"language,omitempty"`
	Details    *IncidentDetails `json:"details,omitempty"`
}

// IncidentDetails is the structured part of a stored incident: the facts the report rests on and
// how the report was obtained (or why it was not).
type IncidentDetails struct {
	Facts []analyst.Fact `json:"facts,omitempty"`
	// Investigation is what was found about the alert's application: recent deployments,
	// metrics against their baselines, endpoint tables, and the parts that failed.
	Investigation *analyst.Investigation `json:"investigation,omitempty"`
	Provider      string                 `json:"provider,omitempty"`
	Model         string                 `json:"model,omitempty"`
	LinkIndex     int                    `json:"link_index"`
	Attempts      int                    `json:"attempts,omitempty"`
	RoleVersion   int                    `json:"role_version,omitempty"`
	Failures      []LinkFailure          `json:"failures,omitempty"`
	Step          string                 `json:"step,omitempty"`
	Error         string                 `json:"error,omitempty"`
	// Group lists the alerts of the incident's group, when it has more than one.
	Group []GroupAlert `json:"group,omitempty"`
	// Deliveries says, per channel, whether the report was delivered.
	Deliveries []DeliveryState `json:"deliveries,omitempty"`
	// OnCall is the workflow ID of the on-call page the incident started, if any.
	OnCall string `json:"oncall,omitempty"`
}

// DeliveryState is the outcome of one channel's delivery.
type DeliveryState struct {
	Channel string `json:"channel"`
	Status  string `json:"status"` // sent | already-sent | failed
	Error   string `json:"error,omitempty"`
}

// GroupAlert is one alert folded into an incident.
type GroupAlert struct {
	Fingerprint string    `json:"fingerprint"`
	Rule        string    `json:"rule"`
	Application string    `json:"application,omitempty"`
	Instance    string    `json:"instance,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	StartsAt    time.Time `json:"starts_at"`
	Status      string    `json:"status"` // firing | resolved
}

// SaveIncident stores (upserts) the incident record.
func (a *Activities) SaveIncident(ctx context.Context, in IncidentRecord) error {
	alertJSON, err := json.Marshal(in.Alert)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode alert: "+err.Error(), "EncodeError", err)
	}
	// Credentials never reach the store: the alert, the facts and the report keep their hosts,
	// statements and messages, with every password, token and key replaced (mask.RedactSecrets).
	// The workflow keeps the original, encrypted by the payload codec.
	rec := store.Incident{
		WorkflowID: in.WorkflowID, RunID: in.RunID, AlertName: in.Alert.Rule, Application: in.Alert.Application,
		Severity: in.Alert.Severity, Status: in.Status, Language: in.Language,
	}
	var details []byte
	if in.Details != nil {
		if details, err = json.Marshal(in.Details); err != nil {
			return temporal.NewNonRetryableApplicationError("encode details: "+err.Error(), "EncodeError", err)
		}
	}
	r := (*mask.Masker)(nil).RedactRecord(in.Report, string(alertJSON), string(details))
	rec.Report, rec.Alert = r[0], json.RawMessage(r[1])
	if len(details) > 0 {
		rec.Details = json.RawMessage(r[2])
	}
	if err := a.Store.SaveIncident(ctx, rec); err != nil {
		return fmt.Errorf("save incident %s: %w", in.WorkflowID, err)
	}
	return nil
}

// Probe echoes its message with the worker's host name (the ProbeWorkflow's activity).
func (a *Activities) Probe(_ context.Context, msg string) (string, error) {
	host, _ := os.Hostname()
	return host + ": " + msg, nil
}
