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
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tracesource"
)

// Error types returned by the link activity; the role call decides from them what comes next.
const (
	// ErrTypeRejected: the provider refused the request for good (400/401/403/404, content
	// refusal, unknown provider). Not retried; the role call moves to the next link.
	ErrTypeRejected = "ProviderRejected"
	// ErrTypeUnavailable: 429, 5xx, timeouts. Retried with backoff, then the next link.
	ErrTypeUnavailable = "ProviderUnavailable"
	// ErrTypeBadAnswer: the answer broke the role's format or schema. Retried, then the next link.
	ErrTypeBadAnswer = "BadAnswer"
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
type LinkCall struct {
	Role        string      `json:"role"`
	RoleVersion int         `json:"role_version"`
	LinkIndex   int         `json:"link_index"`
	Provider    string      `json:"provider"`
	Client      string      `json:"client"`
	Subject     string      `json:"subject"`
	Expect      string      `json:"expect,omitempty"`
	Request     llm.Request `json:"request"`
	// Attempt numbers the attempts of a link called as local activities (the workflow retries
	// those itself); 0 means the activity's own attempt counter applies.
	Attempt int `json:"attempt,omitempty"`
}

// LinkResult is one link's answer.
type LinkResult struct {
	Text         string  `json:"text"`
	Provider     string  `json:"provider"`
	Model        string  `json:"model"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	LatencyMS    int64   `json:"latency_ms"`
	Attempt      int     `json:"attempt"`
}

// CallLink sends one request to one provider/model, checks the answer against what the role
// expects and logs the call. Errors are classified into the ErrType* application error types.
func (a *Activities) CallLink(ctx context.Context, in LinkCall) (LinkResult, error) {
	info := activity.GetInfo(ctx)
	attempt := int(info.Attempt)
	if in.Attempt > 0 {
		attempt = in.Attempt
	}
	p, err := a.Providers.Get(in.Provider)
	if err != nil {
		return LinkResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, err)
	}
	start := time.Now()
	resp, err := p.Complete(ctx, in.Request)
	latency := time.Since(start)
	res := LinkResult{
		Text: resp.Text, Provider: in.Provider, Model: in.Request.Model,
		InputTokens: resp.InputTokens, OutputTokens: resp.OutputTokens,
		CostUSD:   a.Providers.Price(in.Provider, in.Request.Model).Cost(resp),
		LatencyMS: latency.Milliseconds(), Attempt: attempt,
	}
	if resp.Model != "" {
		res.Model = resp.Model
	}
	if err == nil {
		err = checkAnswer(in.Expect, roles.ResponseFormat(in.Request.ResponseFormat), resp.Text)
	}
	appErr := classify(err, attempt)
	a.logCall(ctx, in, res, err, appErr)
	if err != nil {
		return LinkResult{}, appErr
	}
	return res, nil
}

// badAnswerError marks an answer that broke the expected format.
type badAnswerError struct{ err error }

func (e badAnswerError) Error() string { return "answer rejected: " + e.err.Error() }
func (e badAnswerError) Unwrap() error { return e.err }

func checkAnswer(expect string, format roles.ResponseFormat, text string) error {
	if err := roles.ValidateAnswer(format, text); err != nil {
		return badAnswerError{err}
	}
	switch expect {
	case "":
		return nil
	case analyst.TaskIncidentReport:
		if _, err := analyst.ParseReport(text); err != nil {
			return badAnswerError{err}
		}
		return nil
	default:
		return badAnswerError{fmt.Errorf("unknown answer check %q", expect)}
	}
}

// classify turns a provider error into a typed application error at the activity boundary. A
// malformed answer is retried once on the same link (attempt 1 → 2), then the chain moves on.
func classify(err error, attempt int) error {
	if err == nil {
		return nil
	}
	var bad badAnswerError
	switch {
	case errors.As(err, &bad):
		if attempt >= 2 {
			return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadAnswer, nil)
		}
		return temporal.NewApplicationError(err.Error(), ErrTypeBadAnswer)
	case errors.Is(err, llm.ErrBuiltinUnsupported), errors.Is(err, llm.ErrUnknownProvider):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, nil)
	default:
		var pe *llm.ProviderError
		if errors.As(err, &pe) {
			if pe.Retryable {
				return temporal.NewApplicationErrorWithOptions(pe.Error(), ErrTypeUnavailable,
					temporal.ApplicationErrorOptions{NextRetryDelay: pe.RetryAfter})
			}
			return temporal.NewNonRetryableApplicationError(pe.Error(), ErrTypeRejected, nil)
		}
		return temporal.NewApplicationError(err.Error(), ErrTypeUnavailable)
	}
}

// errorClass names a failure for the usage log.
func errorClass(err error) string {
	var pe *llm.ProviderError
	var bad badAnswerError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		return pe.Class
	case errors.As(err, &bad):
		return "bad_answer"
	case errors.Is(err, llm.ErrUnknownProvider):
		return "unknown_provider"
	case errors.Is(err, llm.ErrBuiltinUnsupported):
		return "unsupported"
	case errors.Is(err, context.DeadlineExceeded):
		return llm.ClassTimeout
	default:
		return "error"
	}
}

func (a *Activities) logCall(ctx context.Context, in LinkCall, res LinkResult, callErr, appErr error) {
	if a.Store == nil && a.UsageSink == nil {
		return
	}
	info := activity.GetInfo(ctx)
	reqJSON, _ := json.Marshal(struct {
		Model      string         `json:"model"`
		Messages   []llm.Message  `json:"messages"`
		Parameters llm.Parameters `json:"parameters"`
	}{in.Request.Model, in.Request.Messages, in.Request.Parameters})
	c := store.LLMCall{
		ID:           fmt.Sprintf("%s/%s/%s/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID, res.Attempt),
		Time:         time.Now().UTC(),
		Client:       in.Client,
		Role:         in.Role,
		RoleVersion:  in.RoleVersion,
		Provider:     in.Provider,
		Model:        res.Model,
		Subject:      in.Subject,
		Request:      reqJSON,
		Response:     res.Text,
		Status:       "ok",
		LatencyMS:    res.LatencyMS,
		InputTokens:  res.InputTokens,
		OutputTokens: res.OutputTokens,
		CostUSD:      res.CostUSD,
		WorkflowID:   info.WorkflowExecution.ID,
		RunID:        info.WorkflowExecution.RunID,
		Attempt:      res.Attempt,
	}
	if in.Provider == llm.BuiltinName {
		// The built-in analyst reads the original data and answers in process; what it wrote
		// is masked before it goes into the usage log, which never holds originals.
		c.Response = maskForLog(c.Response)
	}
	if callErr != nil {
		c.Status, c.Error, c.ErrorClass = "error", callErr.Error(), errorClass(callErr)
	}
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
type LinkFailure struct {
	LinkIndex int    `json:"link_index"`
	Provider  string `json:"provider"`
	Model     string `json:"model"`
	Error     string `json:"error"`
}

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
