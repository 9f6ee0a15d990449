package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/promsource"
	"github.com/vigil-ops/vigil/store"
)

// Change holds change tracking's activities (the health of applications around a change, the
// verdict, its enrichment, the deployment's record) and what they use. Workflows reference its
// methods through a nil *Change.
//
// The investigation of an alert (workflows/investigate.go) reuses CollectHealth and Enrich:
// the same templates, comparison engine and availability rules as change tracking, one
// implementation registered once.
type Change struct {
	// Store keeps the deployment records.
	Store  store.Store
	Logger *slog.Logger
	// Health reads application metrics (nil: not configured).
	Health HealthSource
	// Enricher runs the further queries behind a verdict (nil: not configured).
	Enricher Enricher
	// Alerts reads the alerts Alertmanager holds (alertmanager.url; nil: not configured).
	Alerts AlertSource
	// AlertLabel is the alert label that names the application (alertmanager.application_label;
	// "" is DefaultAlertLabel).
	AlertLabel string
}

// HealthSource reads an application's metrics around a change: the window and its 1 d and 1 w
// baselines (Prometheus), and, when before is set, the values just before the change that
// started then.
type HealthSource interface {
	Metrics(ctx context.Context, app string, from, to, before time.Time) ([]compare.Metric, error)
}

// HealthRequest asks for the health of applications over a window.
type HealthRequest struct {
	Apps []change.Application `json:"apps"`
	From time.Time            `json:"from"`
	To   time.Time            `json:"to"`
	// Before is when the change started, for a check after it (zero for a pre-deployment
	// check): a regression must also be worse than just before it.
	Before time.Time `json:"before,omitzero"`
	// Lead is read before From as well, to date the metrics' episodes (when a regression began)
	// further back than the window; it is not judged.
	Lead time.Duration `json:"lead,omitempty"`
}

// HealthResult is the comparison engine's findings per application and their text for the LLM.
type HealthResult struct {
	Apps   []change.App `json:"apps"`
	Prompt string       `json:"prompt"`
}

// healthAttempts is the attempt of CollectHealth from which an unreachable Prometheus is reported
// as missing data instead of an error to retry.
const healthAttempts = 3

// CollectHealth compares each application's metrics over the window with the same window a day
// and a week earlier. Without a metrics source every application's data is reported missing —
// never healthy by default.
func (a *Change) CollectHealth(ctx context.Context, in HealthRequest) (HealthResult, error) {
	var res HealthResult
	var b strings.Builder
	fmt.Fprintf(&b, "Window %s to %s, each metric compared with the same window 1 day and 1 week earlier.\n",
		in.From.UTC().Format(time.RFC3339), in.To.UTC().Format(time.RFC3339))
	for _, app := range in.Apps {
		ca := change.App{ID: string(app.ID), Name: app.Name}
		if a.Health == nil {
			ca.Findings = []compare.Finding{{Metric: "all", Kind: "TRANSACTION", Verdict: compare.MissingData,
				Summary: "no metrics source is configured (prometheus.url): health could not be judged"}}
		} else {
			metrics, err := a.Health.Metrics(ctx, app.Name, in.From.Add(-max(in.Lead, 0)), in.To, in.Before)
			for i := range metrics {
				metrics[i].Lead = compare.PointsBefore(metrics[i], in.From)
			}
			var apiErr *promsource.APIError
			switch {
			case errors.As(err, &apiErr) && apiErr.BadQuery():
				// A template Prometheus rejects will not pass on a retry: this application's
				// data is missing (and says why); the others are still judged.
				ca.Findings = append(ca.Findings, compare.Finding{Metric: "all", Kind: "TRANSACTION", Verdict: compare.MissingData,
					Summary: "Prometheus rejected a query template (fix prometheus.queries): " + err.Error()})
			case err != nil && activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt < healthAttempts:
				return HealthResult{}, fmt.Errorf("metrics of %s: %w", app.Name, err)
			case err != nil:
				// Still failing after a few tries (Prometheus down): the check goes on with the
				// data missing — never healthy — rather than holding the checkpoint for as long
				// as Prometheus is down.
				ca.Findings = append(ca.Findings, compare.Finding{Metric: "all", Kind: "TRANSACTION", Verdict: compare.MissingData,
					Summary: "Prometheus could not be read (check prometheus.url): " + err.Error()})
			}
			ca.Findings = append(ca.Findings, compare.CompareAll(metrics, compare.DefaultOptions())...)
		}
		if a.Alerts != nil {
			// Alertmanager knows only the alerts it holds now; an unreachable Alertmanager is
			// missing data, never a clean bill of health.
			alerts, err := a.Alerts.Alerts(ctx, map[string]string{a.alertLabel(): app.Name})
			if err != nil {
				ca.Findings = append(ca.Findings, compare.Finding{Metric: "alertmanager_active", Kind: "ALERT",
					Verdict: compare.MissingData, Summary: "Alertmanager could not be read: " + err.Error()})
			} else {
				ca.Findings = append(ca.Findings, alertFinding(alerts, in.From, in.To))
			}
		}
		state, faulty := compare.Application(ca.Findings)
		fmt.Fprintf(&b, "\nAPPLICATION %s (id %s): engine says %s, metrics at fault %v\n", app.Name, app.ID, state, faulty)
		for _, f := range ca.Findings {
			fmt.Fprintf(&b, "- [%s] %s: %s\n", f.Kind, f.Verdict, f.Summary)
		}
		res.Apps = append(res.Apps, ca)
	}
	res.Prompt = b.String()
	return res, nil
}

// ParseVerdict decodes the change-tracker's JSON answer (already checked against the role's
// schema by the link activity).
func (a *Change) ParseVerdict(_ context.Context, text string) (change.Verdict, error) {
	var v change.Verdict
	if err := decodeJSONAnswer(text, &v); err != nil {
		return v, temporal.NewNonRetryableApplicationError("change verdict is not JSON: "+err.Error(), "BadVerdict", err)
	}
	return v, nil
}

// SaveDeploymentRequest is a deployment's record, its state without checkpoints and the
// checkpoints from index From on (the ones not stored yet). The workflow sends its state as typed
// values; they arrive here as the JSON they were encoded to.
type SaveDeploymentRequest struct {
	Record      store.Deployment  `json:"record"`
	State       json.RawMessage   `json:"state"`
	From        int               `json:"from"`
	Checkpoints []json.RawMessage `json:"checkpoints"`
}

// SaveDeployment writes the deployment's state to the store (GET /v1/deployments/{id} reads it
// once the workflow is gone): the stored record's first From checkpoints, then the new ones,
// under the new header. A save older than the stored one (a lower Seq) is ignored.
func (a *Change) SaveDeployment(ctx context.Context, in SaveDeploymentRequest) error {
	var header map[string]json.RawMessage
	if err := json.Unmarshal(in.State, &header); err != nil || header == nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("deployment %s: state is not a JSON object", in.Record.ID), "BadDeploymentState", err)
	}
	cps := []json.RawMessage{}
	if in.From > 0 {
		old, err := a.Store.GetDeployment(ctx, in.Record.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read stored deployment: %w", err)
		}
		var body struct {
			Checkpoints []json.RawMessage `json:"checkpoints"`
		}
		if err == nil {
			_ = json.Unmarshal(old.Body, &body)
		}
		if len(body.Checkpoints) < in.From {
			// Earlier checkpoints are missing (the store was reset, or a newer run owns the
			// record): keep what this save has rather than nothing.
			logger(a.Logger).Warn("stored deployment lacks earlier checkpoints", "deployment", in.Record.ID,
				"stored", len(body.Checkpoints), "from", in.From)
			in.From = len(body.Checkpoints)
		}
		cps = append(cps, body.Checkpoints[:in.From]...)
	}
	cps = append(cps, in.Checkpoints...)
	raw, err := json.Marshal(cps)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode checkpoints: "+err.Error(), "BadDeploymentState", err)
	}
	header["checkpoints"] = raw
	d := in.Record
	if d.Body, err = json.Marshal(header); err != nil {
		return temporal.NewNonRetryableApplicationError("encode deployment state: "+err.Error(), "BadDeploymentState", err)
	}
	return a.Store.SaveDeployment(ctx, d)
}
