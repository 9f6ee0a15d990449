package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/incident"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tracesource"
)

// Incident holds the activities of an alert's incident and its investigation (the detectors, the
// incident record, the trace behind an alert, recent changes, the exemplar trace, GitHub
// deployments) and what they use. Workflows reference its methods through a nil *Incident.
//
// The investigation reuses change tracking's CollectHealth and Enrich (activities.Change): the
// same templates, engine and availability rules, one implementation registered once. Its
// reports are delivered through activities.Delivery, as change tracking's and the on-call's are.
type Incident struct {
	// Store keeps the incident records and holds the deployment records RecentChanges reads.
	Store store.Store
	// Thresholds tune the deterministic profile detectors (zero fields: the defaults).
	Thresholds analyst.Thresholds
	// Traces fetch the profile behind an alert that carries only a trace ID, and the exemplar
	// trace's.
	Traces tracesource.Chain
	// Exemplars reads the exemplars of an application's latency series (nil: not configured).
	Exemplars ExemplarSource
	// Deployments lists GitHub deployments for the investigation of an alert
	// (alerts.investigation.github; nil: not configured).
	Deployments DeploymentLister
}

// Analysis is the deterministic analysis of an alert's profile.
type Analysis struct {
	Facts  []analyst.Fact `json:"facts"`
	Prompt string         `json:"prompt"`
}

// AnalyzeAlert runs the profile detectors and writes the facts prompt for the LLM.
func (a *Incident) AnalyzeAlert(_ context.Context, alert profile.Alert) (Analysis, error) {
	var facts []analyst.Fact
	if alert.Profile != nil {
		facts = analyst.Detect(alert.Profile, a.Thresholds)
	}
	return Analysis{Facts: facts, Prompt: analyst.FactsPrompt(&alert, facts)}, nil
}

// SaveIncident stores (upserts) the incident record.
func (a *Incident) SaveIncident(ctx context.Context, in incident.Record) error {
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
