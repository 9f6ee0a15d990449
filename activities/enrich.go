package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/vigil-ops/vigil/amsource"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/promsource"
)

// Enricher runs the further queries behind a verdict (Prometheus): the enrichment tables of a
// metric kind and a health metric's series around the change.
type Enricher interface {
	// Tables runs the enrichment queries of one metric kind (TRANSACTION, ALERT, ISSUE) for app
	// over the window, each with its 1 d and 1 w baselines.
	Tables(ctx context.Context, app, kind string, from, to time.Time) ([]promsource.Table, error)
	// Around returns the series of the health metric named metric around the change; ok is
	// false when no health query has that name.
	Around(ctx context.Context, app, metric string, from, to time.Time) (s promsource.Around, ok bool, err error)
}

// AlertSource reads the alerts an Alertmanager holds.
type AlertSource interface {
	Alerts(ctx context.Context, matchers map[string]string) ([]amsource.Alert, error)
}

// DefaultAlertLabel is the alert label that names the application, in Alertmanager matchers
// (Change.AlertLabel) and in the default ALERTS templates.
const DefaultAlertLabel = "application"

// alertLabel is the configured application label of alerts.
func (a *Change) alertLabel() string {
	if a.AlertLabel != "" {
		return a.AlertLabel
	}
	return DefaultAlertLabel
}

// EnrichApp names one application and the metric kinds its verdict names.
type EnrichApp struct {
	App   change.Application `json:"app"`
	Kinds []string           `json:"kinds"`
	// Degraded are the health metrics the comparison engine found worse, whose series around
	// the change are attached.
	Degraded []string `json:"degraded,omitempty"`
}

// EnrichRequest asks for the enrichments of one checkpoint.
type EnrichRequest struct {
	Apps []EnrichApp `json:"apps"`
	// From and To are the checkpoint's window; Change is when the change took effect (the
	// series around the change start an hour before it).
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Change time.Time `json:"change"`
}

// Enrich runs, for each application and each metric kind its verdict names, the enrichment
// queries (top failing endpoints, slowest endpoints, new error groups, alerts in the window),
// the series of its degraded metrics around the change and, for ALERT, the alerts Alertmanager
// holds for it. Failed queries are listed in the result, never returned as the activity's
// error: the verdict is delivered with whatever data could be had.
func (a *Change) Enrich(ctx context.Context, in EnrichRequest) ([]change.Enrichment, error) {
	out := make([]change.Enrichment, len(in.Apps))
	sem := make(chan struct{}, 4) // applications enriched at once
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, ea := range in.Apps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = a.enrichApp(ctx, ea, in)
			mu.Lock()
			done++
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, done)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out, nil
}

func (a *Change) enrichApp(ctx context.Context, ea EnrichApp, in EnrichRequest) change.Enrichment {
	e := change.Enrichment{App: ea.App.Name, ID: string(ea.App.ID), Kinds: ea.Kinds}
	if a.Enricher == nil && a.Alerts == nil {
		e.Errors = append(e.Errors, "no metrics source is configured (prometheus.url): nothing to enrich the verdict with")
	}
	for _, kind := range ea.Kinds {
		if a.Enricher != nil {
			tables, err := a.Enricher.Tables(ctx, ea.App.Name, kind, in.From, in.To)
			if err != nil {
				e.Errors = append(e.Errors, fmt.Sprintf("%s tables: %v", kind, err))
			}
			e.Tables = append(e.Tables, tables...)
		}
		if kind == "ALERT" && a.Alerts != nil {
			alerts, err := a.Alerts.Alerts(ctx, map[string]string{a.alertLabel(): ea.App.Name})
			if err != nil {
				e.Errors = append(e.Errors, "Alertmanager: "+err.Error())
			}
			e.Alerts = alerts
		}
	}
	if a.Enricher != nil {
		from := in.From
		if !in.Change.IsZero() && in.Change.Add(-time.Hour).Before(from) {
			from = in.Change.Add(-time.Hour)
		}
		for _, m := range ea.Degraded {
			s, ok, err := a.Enricher.Around(ctx, ea.App.Name, m, from, in.To)
			switch {
			case err != nil:
				e.Errors = append(e.Errors, fmt.Sprintf("series of %s: %v", m, err))
			case ok:
				e.Series = append(e.Series, s)
			}
		}
	}
	return e
}

// alertFinding turns the alerts Alertmanager holds for an application into a finding of kind
// ALERT: an alert that started within the window is a regression, one already firing before it
// makes the window inconclusive, none is stable. Silenced and inhibited alerts are named but not
// counted.
func alertFinding(alerts []amsource.Alert, from, to time.Time) compare.Finding {
	f := compare.Finding{Metric: "alertmanager_active", Kind: "ALERT", Verdict: compare.Stable}
	var started, before, suppressed []string
	for _, al := range alerts {
		name := al.Name
		if al.Severity != "" {
			name += " (" + al.Severity + ")"
		}
		switch {
		case al.StartsAt.After(to):
			// Started after the window (a pre-check judged late): not this window's fact.
		case al.State != "active":
			suppressed = append(suppressed, name)
		case !al.StartsAt.Before(from) && !al.StartsAt.After(to):
			started = append(started, name+" since "+al.StartsAt.UTC().Format(time.RFC3339))
		default:
			before = append(before, name+" since "+al.StartsAt.UTC().Format(time.RFC3339))
		}
	}
	switch {
	case len(started) > 0:
		f.Verdict = compare.Degraded
		f.Summary = fmt.Sprintf("Alertmanager: %d alert(s) started in the window: %v", len(started), started)
	case len(before) > 0:
		f.Verdict = compare.Inconclusive
		f.Summary = fmt.Sprintf("Alertmanager: %d alert(s) already firing before the window: %v", len(before), before)
	default:
		f.Summary = "Alertmanager: no active alert"
	}
	if len(started) > 0 && len(before) > 0 {
		f.Summary += fmt.Sprintf("; also firing before the window: %v", before)
	}
	if len(suppressed) > 0 {
		f.Summary += fmt.Sprintf("; silenced or inhibited: %v", suppressed)
	}
	return f
}
