package analyst

import (
	"cmp"
	"fmt"
	"github.com/vigil-ops/vigil/profile"
	"strings"
	"time"
)

// englishInvestigation writes the investigated report (an alert without a profile) in English.
type englishInvestigation struct{}

var metricNamesEn = map[string]string{
	"error_ratio": "error ratio", "throughput": "throughput", "latency_p50": "p50 latency",
	"latency_p90": "p90 latency", "latency_p95": "p95 latency", "latency_p99": "p99 latency",
	"error_logs": "ERROR log records", "fatal_logs": "FATAL log records", "alerts_firing": "firing alerts",
}

func (englishInvestigation) metricName(m string) string {
	if n, ok := metricNamesEn[m]; ok {
		return n
	}
	return strings.ReplaceAll(m, "_", " ")
}

func (p englishInvestigation) checkedLine(v view, inv *Investigation) string {
	src := ""
	if inv.GitHub != "" {
		src = " (Vigil's records and GitHub " + inv.GitHub + ")"
	}
	return fmt.Sprintf("Investigated: deployments of %s in the %s before the alert%s; its metrics %s–%s UTC against 1 day and 1 week earlier",
		inv.Application, lookBack(inv.LookBack), src, inv.From.UTC().Format("15:04"), inv.To.UTC().Format("15:04"))
}

// noneRecorded says that no deployment was recorded in the look-back, by Vigil and, where
// configured, GitHub (or that GitHub could not be read).
func (p englishInvestigation) noneRecorded(inv *Investigation) string {
	switch _, ghFailed := inv.failed(PartGitHub); {
	case inv.GitHub != "" && ghFailed:
		return fmt.Sprintf("Vigil recorded no deployment of %s in the %s before the alert (GitHub %s could not be read)", inv.Application, lookBack(inv.LookBack), inv.GitHub)
	case inv.GitHub != "":
		return fmt.Sprintf("neither Vigil nor GitHub %s recorded a deployment of %s in the %s before the alert", inv.GitHub, inv.Application, lookBack(inv.LookBack))
	}
	return fmt.Sprintf("Vigil recorded no deployment of %s in the %s before the alert", inv.Application, lookBack(inv.LookBack))
}

// githubUnread says that GitHub's deployments could not be read, or is "".
func (p englishInvestigation) githubUnread(inv *Investigation) string {
	if f, ok := inv.failed(PartGitHub); ok {
		return fmt.Sprintf(" GitHub could not be read: the deployments of %s are missing (%s).", inv.GitHub, f.Error)
	}
	return ""
}

// status is a change's status: Vigil's tracking status, or GitHub's state.
func (p englishInvestigation) status(ch *Change, inv *Investigation) string {
	if ch.Source == SourceGitHub {
		s := "GitHub " + cmp.Or(inv.GitHub, "deployment") + ", state " + ch.Status
		if ch.Description != "" {
			s += ": " + clip(ch.Description, 120)
		}
		return s
	}
	return "status " + ch.Status
}

// evidence is "error ratio 7.2 % vs 0.5 % a day ago and 0.6 % a week ago".
func (p englishInvestigation) evidence(f finding) string {
	s := p.metricName(f.metric) + " " + metricValue(f.metric, f.cur)
	var base []string
	if f.day != nil {
		base = append(base, metricValue(f.metric, *f.day)+" a day ago")
	} else {
		base = append(base, "no data a day ago")
	}
	if f.wk != nil {
		base = append(base, metricValue(f.metric, *f.wk)+" a week ago")
	} else {
		base = append(base, "no data a week ago")
	}
	return s + " vs " + strings.Join(base, " and ")
}

// episode dates the regression: "error ratio worse than a day and a week earlier from 11:35
// to 11:58 UTC" ("" when not dated).
func (p englishInvestigation) episode(c conclusion) string {
	if c.onset == nil {
		return ""
	}
	s := p.metricName(c.episode.metric) + " worse than a day and a week earlier from " + c.onset.UTC().Format("15:04")
	if c.episodeTo.Before(c.start.Add(-time.Minute)) {
		s += " to " + c.episodeTo.UTC().Format("15:04")
	}
	return s + " UTC"
}

func (p englishInvestigation) deployment(ch *Change, app string) string {
	if ch.Version != "" {
		app += " " + ch.Version
	}
	return "deployment " + ch.ID + " (" + app + ")"
}

func (p englishInvestigation) failingRow(c conclusion) string {
	if c.failing == nil {
		return ""
	}
	return endpoint(*c.failing) + " 5xx ×" + count(c.failing.Current)
}

func (p englishInvestigation) summary(v view, inv *Investigation, c conclusion) string {
	var ev []string
	for _, f := range c.degraded[:min(2, len(c.degraded))] {
		ev = append(ev, p.evidence(f))
	}
	if s := p.failingRow(c); s != "" && c.errorsRegressed() {
		ev = append(ev, s)
	}
	if s := p.episode(c); s != "" {
		ev = append(ev, s)
	}
	if s := traceEvidence(inv, "en"); s != "" {
		ev = append(ev, s)
	}
	evidence := strings.Join(ev, "; ")
	regressed := len(c.degraded) > 0 || c.onset != nil
	switch {
	case c.suspect != nil && regressed:
		return fmt.Sprintf("%s on %s started %d minutes after %s; %s. Most likely cause: the deployment %s.",
			v.rule, v.app, minutesBetween(c.suspect.At, c.start), p.deployment(c.suspect, inv.Application), evidence, c.suspect.ID)
	case c.suspect != nil:
		return fmt.Sprintf("%s on %s started %d minutes after %s; %s. Most likely cause: the deployment %s, the latest change before the alert.",
			v.rule, v.app, minutesBetween(c.suspect.At, c.start), p.deployment(c.suspect, inv.Application), p.noRegression(c), c.suspect.ID)
	case regressed && c.surge != nil:
		return fmt.Sprintf("%s on %s: %s, with traffic at %s; %s. Most likely cause: the traffic surge.",
			v.rule, v.app, evidence, p.evidence(*c.surge), p.noChange(inv, c))
	case regressed:
		nc := p.noChange(inv, c)
		return fmt.Sprintf("%s on %s: %s. %s: the regression did not follow a change Vigil knows of (look at its dependencies and infrastructure).",
			v.rule, v.app, evidence, strings.ToUpper(nc[:1])+nc[1:])
	}
	if s := traceEvidence(inv, "en"); s != "" {
		return fmt.Sprintf("%s on %s: %s and no deployment can be the cause; %s. Most likely cause: that step of the request.",
			v.rule, v.app, p.noRegression(c), s)
	}
	return fmt.Sprintf("%s on %s: the investigation points at no cause. Checked: %s.", v.rule, v.app, p.checked(inv, c))
}

// noChange says that no deployment can be the cause: none in the look-back, or only one long
// before the alert that its checks judged STABLE.
func (p englishInvestigation) noChange(inv *Investigation, c conclusion) string {
	if ch := c.cleared; ch != nil {
		return fmt.Sprintf("the last deployment of %s before the regression, %s, took effect %s before the alert, and its metrics were in line with their baselines from %s UTC for %s, until the regression began at %s UTC",
			inv.Application, ch.ID, lookBack(c.start.Sub(ch.At).Round(time.Minute)), c.calmFrom.UTC().Format("15:04"),
			lookBack(c.calmFor.Round(time.Minute)), c.onset.UTC().Format("15:04"))
	}
	if c.change == nil {
		return p.noneRecorded(inv)
	}
	if c.underWay != nil && c.change.At.After(c.underWay.Add(onsetSlack)) {
		return fmt.Sprintf("the last deployment of %s, %s, took effect %s before the alert, when the regression was already under way (worse from the first minute read, %s UTC)",
			inv.Application, c.change.ID, lookBack(c.start.Sub(c.change.At).Round(time.Minute)), c.underWay.UTC().Format("15:04"))
	}
	if c.onset != nil && c.change.At.After(c.onset.Add(c.slack)) {
		return fmt.Sprintf("the last deployment of %s, %s, took effect %s before the alert, after the regression began at %s UTC",
			inv.Application, c.change.ID, lookBack(c.start.Sub(c.change.At).Round(time.Minute)), c.onset.UTC().Format("15:04"))
	}
	return fmt.Sprintf("the last deployment of %s, %s, took effect %s before the alert and its checks judged it %s",
		inv.Application, c.change.ID, lookBack(c.start.Sub(c.change.At).Round(time.Minute)), c.change.State)
}

func (p englishInvestigation) noRegression(c conclusion) string {
	if !c.healthRead {
		return "its metrics could not be compared"
	}
	return "no metric regressed against both baselines"
}

// checked says what the investigation looked at and found nothing in.
func (p englishInvestigation) checked(inv *Investigation, c conclusion) string {
	var parts []string
	if f, ok := inv.failed(PartChanges); ok {
		parts = append(parts, "deployments (could not be read: "+f.Error+")")
	} else {
		parts = append(parts, p.noChange(inv, c))
	}
	switch {
	case len(c.checked) > 0:
		names := make([]string, len(c.checked))
		for i, m := range c.checked {
			names[i] = p.metricName(m)
		}
		parts = append(parts, strings.Join(names, ", ")+" against 1 d and 1 w (none regressed)")
	case len(c.missing) > 0:
		parts = append(parts, "health metrics (not available: "+c.missing[0]+")")
	default:
		if f, ok := inv.failed(PartHealth); ok {
			parts = append(parts, "health metrics (could not be read: "+f.Error+")")
		} else {
			parts = append(parts, "health metrics (no data)")
		}
	}
	return strings.Join(parts, "; ")
}

func (p englishInvestigation) changes(v view, inv *Investigation, c conclusion) string {
	f, vigilFailed := inv.failed(PartChanges)
	switch {
	case vigilFailed && len(inv.Changes) == 0:
		return "Recent changes: Vigil's deployment records could not be read (" + f.Error + ")." + p.githubUnread(inv)
	case c.change == nil && len(c.later) == 0:
		return "Recent changes: " + p.noneRecorded(inv) + "." + p.githubUnread(inv)
	}
	s := "Recent changes: "
	if vigilFailed {
		s += "Vigil's deployment records could not be read (" + f.Error + "); GitHub lists: "
	}
	if ch := c.change; ch != nil {
		s += fmt.Sprintf("%s took effect at %s UTC, %d minutes before the alert (%s",
			p.deployment(ch, inv.Application), ch.At.UTC().Format("15:04"), minutesBetween(ch.At, c.start), p.status(ch, inv))
		if ch.State != "" {
			s += fmt.Sprintf("; latest verdict %s at %s", ch.State, ch.Checkpoint)
			if ch.Comment != "" {
				s += ": " + clip(ch.Comment, 160)
			}
		} else {
			s += "; no verdict yet"
		}
		s += ")."
		switch {
		case c.suspect == nil && c.cleared != nil:
			s += " Not taken for the cause: " + p.noChange(inv, c) + "."
		case c.suspect == nil && c.underWay != nil && ch.At.After(c.underWay.Add(onsetSlack)):
			s += " Not taken for the cause: " + p.noChange(inv, c) + "."
		case c.suspect == nil && c.onset != nil && ch.At.After(c.onset.Add(c.slack)):
			s += fmt.Sprintf(" Not taken for the cause: it took effect after the regression began at %s UTC.", c.onset.UTC().Format("15:04"))
		case c.suspect == nil:
			s += fmt.Sprintf(" Not taken for the cause: it took effect %s before the alert and its checks found it %s.", lookBack(c.start.Sub(ch.At).Round(time.Minute)), ch.State)
		case c.suspect != ch && c.onset != nil:
			s += fmt.Sprintf(" Not taken for the cause: it took effect after the regression began at %s UTC, %d minutes after %s.",
				c.onset.UTC().Format("15:04"), minutesBetween(c.suspect.At, *c.onset), p.deployment(c.suspect, inv.Application))
		case c.suspect != ch && c.underWay != nil:
			s += fmt.Sprintf(" Not taken for the cause: the regression was already under way at %s UTC, the first minute read; %s took effect before that.",
				c.underWay.UTC().Format("15:04"), p.deployment(c.suspect, inv.Application))
		}
		if more := len(inv.Changes) - 1 - len(c.later); more > 0 {
			s += fmt.Sprintf(" %d earlier deployment(s) in the %s.", more, lookBack(inv.LookBack))
		}
	} else {
		s += fmt.Sprintf("no deployment of %s before the alert in the %s.", inv.Application, lookBack(inv.LookBack))
	}
	if len(c.later) > 0 {
		s += fmt.Sprintf(" %s took effect after the alert started.", p.deployment(&c.later[0], inv.Application))
	}
	return s + p.githubUnread(inv)
}

func (p englishInvestigation) health(v view, inv *Investigation, c conclusion) string {
	window := fmt.Sprintf("%s–%s UTC", inv.From.UTC().Format("15:04"), inv.To.UTC().Format("15:04"))
	if len(c.degraded) == 0 && !c.healthRead {
		why := "no data"
		if f, ok := inv.failed(PartHealth); ok {
			why = f.Error
		} else if len(c.missing) > 0 {
			why = c.missing[0]
		}
		return "Metrics: the health metrics could not be compared with their baselines (" + why + ")."
	}
	var parts []string
	for _, f := range c.degraded {
		parts = append(parts, p.evidence(f))
	}
	s := "Metrics " + window + " against the same window 1 day and 1 week earlier: "
	if len(parts) > 0 {
		s += "worse: " + strings.Join(parts, "; ")
	} else {
		s += "no metric regressed against both baselines"
	}
	if c.surge != nil {
		s += "; traffic " + p.evidence(*c.surge)
	}
	var ok []string
	for _, m := range c.checked {
		if !containsFinding(c.degraded, m) && (c.surge == nil || c.surge.metric != m) {
			ok = append(ok, p.metricName(m))
		}
	}
	if len(ok) > 0 && len(parts) > 0 {
		s += "; in line: " + strings.Join(ok, ", ")
	}
	return s + "."
}

func containsFinding(fs []finding, m string) bool {
	for _, f := range fs {
		if f.metric == m {
			return true
		}
	}
	return false
}

func (p englishInvestigation) tables(v view, inv *Investigation, c conclusion) string {
	var parts []string
	if c.failing != nil {
		s := "top failing endpoint " + p.failingRow(c)
		if c.failing.Day != nil {
			s += fmt.Sprintf(" (×%s a day ago)", count(*c.failing.Day))
		}
		parts = append(parts, s)
	}
	if c.slowest != nil {
		parts = append(parts, "slowest endpoint "+endpoint(*c.slowest)+" p95 "+ms(c.slowest.Current*1000))
	}
	if len(c.newErrors) > 0 {
		var g []string
		for _, r := range c.newErrors {
			g = append(g, errorGroup(r)+" ×"+count(r.Current))
		}
		parts = append(parts, "new error groups "+strings.Join(g, ", "))
	}
	if s := traceEvidence(inv, "en"); s != "" {
		parts = append(parts, s)
	} else if inv.Trace != nil && inv.Trace.Note != "" && len(parts) > 0 {
		parts = append(parts, "Exemplar trace: "+inv.Trace.Note)
	}
	if tf, ok := inv.failed(PartTrace); ok && len(parts) > 0 {
		parts = append(parts, "Exemplar trace: "+tf.Error)
	}
	f, failed := inv.failed(PartTables)
	switch {
	case failed && len(parts) == 0:
		return "Endpoints: the enrichment tables could not be queried (" + f.Error + ")."
	case failed:
		parts = append(parts, "some table queries failed ("+f.Error+")")
	}
	switch {
	case len(parts) > 0:
		return "Endpoints: " + strings.Join(parts, "; ") + "."
	case inv.TablesSkipped:
		return ""
	case len(c.degraded) > 0:
		return "Endpoints: the enrichment tables returned no failing or slow endpoint."
	}
	return ""
}

func (p englishInvestigation) actions(v view, inv *Investigation, c conclusion) []string {
	var out []string
	switch {
	case c.suspect != nil && c.suspect.Source == SourceGitHub:
		out = append(out, fmt.Sprintf("Review %s (GitHub %s, commit %s) and roll it back if the %s does not recover.",
			p.deployment(c.suspect, inv.Application), cmp.Or(inv.GitHub, "deployment"), cmp.Or(c.suspect.SHA, "?"), p.firstMetric(c, "metrics")))
	case c.suspect != nil:
		out = append(out, fmt.Sprintf("Review %s (GET /v1/deployments/%s) and roll it back if the %s does not recover.",
			p.deployment(c.suspect, inv.Application), c.suspect.ID, p.firstMetric(c, "metrics")))
	}
	if c.failing != nil {
		out = append(out, fmt.Sprintf("Look at the failing requests of %s (logs and traces of the last %s) for the error behind the 5xx.",
			endpoint(*c.failing), lookBack(inv.To.Sub(inv.From))))
	}
	switch {
	case c.suspect == nil && c.surge != nil && len(c.degraded) > 0:
		out = append(out, fmt.Sprintf("Find where the extra traffic to %s comes from and scale out or rate-limit it.", inv.Application))
	case c.suspect == nil && len(c.degraded) > 0:
		out = append(out, fmt.Sprintf("Check the dependencies of %s (databases, downstream services) and its infrastructure for an outage that started with the %s.",
			inv.Application, p.firstMetric(c, "regression")))
	case c.suspect == nil && traceEvidence(inv, "en") != "":
		// The failing or slowest request's own finding is the lead.
		if f, ok := inv.topTraceFact(); ok {
			out = append(out, phrasesFor("en").action(newView(&profile.Alert{}), f))
		}
	case c.suspect == nil:
		out = append(out, fmt.Sprintf("Check the alert's own query and threshold against the metrics of %s, and send a transaction profile or trace ID with the alert for a profile analysis.", inv.Application))
	}
	if len(inv.Failed) > 0 {
		out = append(out, fmt.Sprintf("Re-run the investigation once the %s can be read.", inv.Failed[0].Part))
	}
	return out
}

func (p englishInvestigation) firstMetric(c conclusion, fallback string) string {
	if len(c.degraded) > 0 {
		return p.metricName(c.degraded[0].metric)
	}
	return fallback
}
