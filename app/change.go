package app

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/amsource"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/depstatus"
	"github.com/vigil-ops/vigil/promsource"
)

// wireChangeSources gives change tracking its metrics (prometheus.url, with the query and
// enrichment templates of the config over the defaults) and its alert source
// (alertmanager.url), and the investigation of an alert its exemplars from the same Prometheus.
func wireChangeSources(cfg *config.Config, chg *activities.Change, inc *activities.Incident, deps *depstatus.Registry) error {
	if cfg.Prometheus.URL != "" {
		pc, err := promsource.New(cfg.Prometheus.URL, depClient(deps.Add("prometheus", "prometheus", "prometheus.url", nil), promsource.DefaultTimeout))
		if err != nil {
			return fmt.Errorf("prometheus.url: %w", err)
		}
		pc.SetScrapeInterval(cfg.Prometheus.ScrapeInterval)
		queries, err := healthQueries(cfg.Prometheus.Queries)
		if err != nil {
			return err
		}
		enrich, err := enrichQueries(cfg.Prometheus.Enrichment)
		if err != nil {
			return err
		}
		ph := &promHealth{c: pc, queries: queries, enrich: enrich}
		chg.Health, chg.Enricher, inc.Exemplars = ph, ph, ph
	}
	if cfg.Alertmanager.URL != "" {
		ac, err := amsource.New(cfg.Alertmanager.URL, depClient(deps.Add("alertmanager", "alertmanager", "alertmanager.url", nil), 30*time.Second))
		if err != nil {
			return fmt.Errorf("alertmanager.url: %w", err)
		}
		chg.Alerts = ac
		chg.AlertLabel = cfg.Alertmanager.ApplicationLabel
	}
	return nil
}

// healthQueries applies prometheus.queries to the default templates: an entry with a default's
// name replaces it (or removes it when disabled), a new name is added.
func healthQueries(over []config.PrometheusQuery) ([]promsource.Query, error) {
	return overrideByName(promsource.DefaultQueries(), over, "prometheus.queries",
		func(q promsource.Query) string { return q.Metric },
		func(o config.PrometheusQuery) (string, bool) { return o.Metric, o.Disabled },
		func(o config.PrometheusQuery) (promsource.Query, error) {
			dir, err := promsource.ParseDirection(o.Direction)
			if err != nil {
				return promsource.Query{}, fmt.Errorf("direction: %w", err)
			}
			q := promsource.Query{Metric: o.Metric, Kind: o.Kind, Direction: dir, PromQL: o.PromQL,
				MinRelChange: o.MinRelChange, MinAbsChange: o.MinAbsChange}
			return q, q.Validate()
		})
}

// enrichQueries applies prometheus.enrichment to the default enrichment templates, by name.
func enrichQueries(over []config.EnrichmentQuery) ([]promsource.EnrichQuery, error) {
	return overrideByName(promsource.DefaultEnrichQueries(), over, "prometheus.enrichment",
		func(q promsource.EnrichQuery) string { return q.Name },
		func(o config.EnrichmentQuery) (string, bool) { return o.Name, o.Disabled },
		func(o config.EnrichmentQuery) (promsource.EnrichQuery, error) {
			q := promsource.EnrichQuery{Name: o.Name, Kind: o.Kind, Title: o.Title, PromQL: o.PromQL, Limit: o.Limit}
			if q.Title == "" {
				q.Title = o.Name
			}
			return q, q.Validate()
		})
}

// overrideByName applies configured entries to defaults by name: a disabled entry removes the
// default of its name, another replaces it, a new name is appended. Errors name the entry's path.
func overrideByName[T, O any](defaults []T, over []O, path string, nameOf func(T) string,
	entry func(O) (name string, disabled bool), build func(O) (T, error)) ([]T, error) {
	out := defaults
	for i, o := range over {
		name, disabled := entry(o)
		at := -1
		for j, q := range out {
			if nameOf(q) == name {
				at = j
			}
		}
		if disabled {
			if at >= 0 {
				out = append(out[:at], out[at+1:]...)
			}
			continue
		}
		q, err := build(o)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", path, i, err)
		}
		if at >= 0 {
			out[at] = q
		} else {
			out = append(out, q)
		}
	}
	return out, nil
}

// appCheckpoints maps change_tracking.applications to the per-application schedules.
func appCheckpoints(ct config.ChangeTracking) map[string][]time.Duration {
	if len(ct.Applications) == 0 {
		return nil
	}
	out := make(map[string][]time.Duration, len(ct.Applications))
	for _, a := range ct.Applications {
		out[a.Name] = a.Checkpoints
	}
	return out
}

// promHealth reads change-tracking metrics and enrichments from Prometheus with the configured
// templates.
type promHealth struct {
	c       *promsource.Client
	queries []promsource.Query
	enrich  []promsource.EnrichQuery
}

func (p *promHealth) Metrics(ctx context.Context, app string, from, to, before time.Time) ([]compare.Metric, error) {
	return p.c.MetricsBefore(ctx, app, from, to, before, p.queries)
}

// Exemplars reads the exemplars of the application's request-duration histogram.
func (p *promHealth) Exemplars(ctx context.Context, app string, from, to time.Time) ([]promsource.Exemplar, error) {
	return p.c.Exemplars(ctx, promsource.DefaultExemplarSelector, app, from, to)
}

// Tables runs the enrichment templates of kind; a failed query is reported in the error
// alongside the tables that did run.
func (p *promHealth) Tables(ctx context.Context, app, kind string, from, to time.Time) ([]promsource.Table, error) {
	var out []promsource.Table
	var firstErr error
	for _, q := range p.enrich {
		if q.Kind != kind {
			continue
		}
		t, err := p.c.Table(ctx, q, app, from, to)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", q.Name, err)
			}
			continue
		}
		out = append(out, t)
	}
	return out, firstErr
}

// Around returns the named health metric's series around the change (at most 24 points).
func (p *promHealth) Around(ctx context.Context, app, metric string, from, to time.Time) (promsource.Around, bool, error) {
	for _, q := range p.queries {
		if q.Metric == metric {
			s, err := p.c.Around(ctx, q, app, from, to, 24)
			return s, true, err
		}
	}
	return promsource.Around{}, false, nil
}
