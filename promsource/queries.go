package promsource

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-ops/vigil/compare"
)

// Placeholders recognised in a Query's PromQL template.
const (
	appPlaceholder    = "{{app}}"
	offsetPlaceholder = "{{offset}}"
)

// Query is one metric's PromQL template. {{app}} is replaced by the application's name (escaped
// for a PromQL string literal), {{offset}} by "", " offset 1d" or " offset 1w" — the template
// must place {{offset}} right after each selector's range/instant part — and {{rate_interval}}
// by the rate window for the Prometheus's scrape interval (at least four scrape intervals), e.g.
// `rate(x{service_name="{{app}}"}[{{rate_interval}}]{{offset}})`. A range written into the
// template must be at least four scrape intervals long.
//
// {{app}} must only appear inside a double-quoted equality matcher (="{{app}}"): the name is
// escaped as a string literal, not as a regular expression.
//
// MinRelChange and MinAbsChange are the smallest material changes of the metric's median (in
// its own unit); 0 means compare's default (20 %, no absolute minimum).
type Query struct {
	Metric       string // e.g. "throughput"
	Kind         string // TRANSACTION | ALERT | ISSUE
	Direction    compare.Direction
	PromQL       string
	MinRelChange float64
	MinAbsChange float64
	// Traffic marks the metric that measures traffic; PerTraffic marks metrics that grow with it
	// (see compare.Metric).
	Traffic    bool
	PerTraffic bool
}

const (
	httpCount   = `http_server_request_duration_seconds_count{service_name="{{app}}"}[{{rate_interval}}]{{offset}}`
	httpErrors  = `http_server_request_duration_seconds_count{service_name="{{app}}",http_response_status_code=~"5.."}[{{rate_interval}}]{{offset}}`
	httpBuckets = `http_server_request_duration_seconds_bucket{service_name="{{app}}"}[{{rate_interval}}]{{offset}}`
)

// logsAt counts log records of one severity per second. An application that logs but has no
// record of that severity gets 0; one without any log records gets no data (not collected, not
// 0): a missing log pipeline must not look like a clean one.
func logsAt(severity string) string {
	all := `sum(rate(log_records_total{service_name="{{app}}"}[{{rate_interval}}]{{offset}}))`
	return `sum(rate(log_records_total{service_name="{{app}}",severity="` + severity + `"}[{{rate_interval}}]{{offset}})) or (` + all + ` * 0)`
}

func latency(q string) string {
	return "histogram_quantile(" + q + ", sum by (le) (rate(" + httpBuckets + ")))"
}

// Materiality of the default metrics: the smallest change of the median that is a regression
// (besides being significant).
const (
	// A drop of half the traffic or more; a surge is never a regression by itself.
	throughputMinDrop = 0.5
	// Errors: +50 % and at least half a percentage point (0.01 % → 0.02 % is not a regression,
	// 0.5 % → 8 % is).
	errorRatioMinRel, errorRatioMinAbs = 0.5, 0.005
	// Latency: +20 % and at least 10 ms.
	latencyMinRel, latencyMinAbs = 0.2, 0.010
	// Log records: doubled and at least one more per minute (ERROR), one more per two minutes
	// (FATAL).
	logsMinRel, errorLogsMinAbs, fatalLogsMinAbs = 1.0, 1.0 / 60, 0.5 / 60
	// Alerts: one more firing alert.
	alertsMinAbs = 1
)

// DefaultQueries follow OpenTelemetry's HTTP semantic conventions as exported to Prometheus
// (metric http.server.request.duration → http_server_request_duration_seconds_{count,bucket},
// resource attribute service.name → label service_name), with rate windows that follow the
// scrape interval ({{rate_interval}}):
//
//	throughput (LowerIsWorse, TRANSACTION): requests per second; a drop of 50 % or more is a
//	regression, a surge is not
//	error_ratio (HigherIsWorse, TRANSACTION): share of responses with a 5xx status (0 when there
//	is traffic and no 5xx series); material from +50 % and +0.5 percentage points
//	latency_p50 / latency_p90 / latency_p95 (HigherIsWorse, TRANSACTION): from the duration
//	histogram; material from +20 % and +10 ms
//	error_logs / fatal_logs (HigherIsWorse, ISSUE): ERROR and FATAL log records per second (0 when
//	the application logs but not at that level); material from ×2 and +1/min (+0.5/min), after
//	scaling the references by the traffic's growth (twice the requests may log twice the errors)
//	alerts_firing (HigherIsWorse, ALERT): firing alerts labelled application="<app>" (0 when none)
//
// error_logs and fatal_logs assume a counter log_records_total{service_name, severity} of log records by
// severity text (e.g. produced by the OpenTelemetry Collector's count connector or a
// log-to-metrics pipeline); without it those metrics are "not collected", which is named in
// the verdict and not held against the application. alerts_firing assumes alerting rules
// attach an "application" label. Adjust the templates when a deployment uses other names.
func DefaultQueries() []Query {
	return []Query{
		{Metric: "throughput", Kind: "TRANSACTION", Direction: compare.LowerIsWorse, MinRelChange: throughputMinDrop, Traffic: true,
			PromQL: "sum(rate(" + httpCount + "))"},
		{Metric: "error_ratio", Kind: "TRANSACTION", Direction: compare.HigherIsWorse,
			MinRelChange: errorRatioMinRel, MinAbsChange: errorRatioMinAbs,
			PromQL: "(sum(rate(" + httpErrors + ")) or (sum(rate(" + httpCount + ")) * 0)) / sum(rate(" + httpCount + "))"},
		{Metric: "latency_p50", Kind: "TRANSACTION", Direction: compare.HigherIsWorse, MinRelChange: latencyMinRel, MinAbsChange: latencyMinAbs, PromQL: latency("0.5")},
		{Metric: "latency_p90", Kind: "TRANSACTION", Direction: compare.HigherIsWorse, MinRelChange: latencyMinRel, MinAbsChange: latencyMinAbs, PromQL: latency("0.9")},
		{Metric: "latency_p95", Kind: "TRANSACTION", Direction: compare.HigherIsWorse, MinRelChange: latencyMinRel, MinAbsChange: latencyMinAbs, PromQL: latency("0.95")},
		{Metric: "error_logs", Kind: "ISSUE", Direction: compare.HigherIsWorse, MinRelChange: logsMinRel, MinAbsChange: errorLogsMinAbs, PerTraffic: true, PromQL: logsAt("ERROR")},
		{Metric: "fatal_logs", Kind: "ISSUE", Direction: compare.HigherIsWorse, MinRelChange: logsMinRel, MinAbsChange: fatalLogsMinAbs, PerTraffic: true, PromQL: logsAt("FATAL")},
		{Metric: "alerts_firing", Kind: "ALERT", Direction: compare.HigherIsWorse, MinAbsChange: alertsMinAbs,
			PromQL: `count(ALERTS{alertstate="firing",application="{{app}}"}{{offset}}) or vector(0)`},
	}
}

// escapeString escapes s for the inside of a double-quoted PromQL string literal. PromQL
// unquotes strings with Go's rules, so Go quoting is exact: `"` and `\` are backslash-escaped
// and control characters become escape sequences.
func escapeString(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// render fills a template for app with the given offset ("", " offset 1d", " offset 1w") and
// rate window (e.g. "240s").
func render(tmpl, app, offset, rate string) string {
	return strings.NewReplacer(appPlaceholder, escapeString(app), offsetPlaceholder, offset, ratePlaceholder, rate).Replace(tmpl)
}

// Validate checks a query before anything is sent: a metric name, a known Kind, a Direction
// compare knows, non-negative finite materiality minimums, and a non-empty template with the
// {{app}} and {{offset}} placeholders and no other {{…}} placeholder than {{rate_interval}}. Metrics calls it for every query; configuration loaders call it too.
func (q Query) Validate() error {
	switch {
	case q.Metric == "":
		return fmt.Errorf("promsource: query with an empty metric name")
	case !validKind(q.Kind):
		return fmt.Errorf("promsource: metric %q: kind %q is not one of %s", q.Metric, q.Kind, strings.Join(kinds, ", "))
	case q.Direction != compare.HigherIsWorse && q.Direction != compare.LowerIsWorse && q.Direction != compare.Neutral:
		return fmt.Errorf("promsource: metric %q: unknown direction %d", q.Metric, q.Direction)
	case !(q.MinRelChange >= 0) || math.IsInf(q.MinRelChange, 0) || !(q.MinAbsChange >= 0) || math.IsInf(q.MinAbsChange, 0):
		return fmt.Errorf("promsource: metric %q: minimum changes must be finite and >= 0", q.Metric)
	}
	return checkTemplate("metric", q.Metric, q.PromQL, appPlaceholder, offsetPlaceholder, ratePlaceholder)
}

// kinds are the metric kinds a verdict names.
var kinds = []string{"TRANSACTION", "ALERT", "ISSUE"}

// Kinds returns the metric kinds a verdict names — the values a Query's or EnrichQuery's Kind
// takes: TRANSACTION, ALERT, ISSUE.
func Kinds() []string { return slices.Clone(kinds) }

func validKind(k string) bool { return slices.Contains(kinds, k) }

// checkTemplate checks that tmpl is non-empty, holds {{app}} and {{offset}}, has no
// placeholder other than the allowed ones, and uses {{app}} only inside the double-quoted string
// of an exact-match label matcher (label="{{app}}", also with text around it: job="api-{{app}}").
// The name is escaped for a double-quoted string only: in a regex matcher (=~"{{app}}", !~), a
// negative one (!=), a single-quoted or raw string, a function argument or outside quotes, an
// application named ".*" or `"} or vector(1) #` would read every service. what and name identify
// the template in errors.
func checkTemplate(what, name, tmpl string, allowed ...string) error {
	switch {
	case strings.TrimSpace(tmpl) == "":
		return fmt.Errorf("promsource: %s %q: empty PromQL template", what, name)
	case !strings.Contains(tmpl, appPlaceholder):
		// Without {{app}} the query would read every application's data.
		return fmt.Errorf("promsource: %s %q: PromQL template has no %s placeholder", what, name, appPlaceholder)
	case !strings.Contains(tmpl, offsetPlaceholder):
		// Without {{offset}} the baselines would silently equal the current window.
		return fmt.Errorf("promsource: %s %q: PromQL template has no %s placeholder", what, name, offsetPlaceholder)
	}
	rest := tmpl
	for _, p := range allowed {
		rest = strings.ReplaceAll(rest, p, "")
	}
	if i := strings.Index(rest, "{{"); i >= 0 {
		bad := rest[i:]
		if j := strings.Index(bad, "}}"); j >= 0 {
			bad = bad[:j+2]
		}
		return fmt.Errorf("promsource: %s %q: unknown placeholder %q in PromQL template (allowed: %s)", what, name, bad, strings.Join(allowed, ", "))
	}
	// exactMatcherBefore reports that s ends with `label =` (spaces allowed), the start of an
	// exact-match matcher, and not with =~, !=, !~ or ==.
	exactMatcherBefore := func(s string) bool {
		s = strings.TrimRight(s, " \t\n")
		if !strings.HasSuffix(s, "=") {
			return false
		}
		s = s[:len(s)-1]
		if strings.HasSuffix(s, "!") || strings.HasSuffix(s, "=") || strings.HasSuffix(s, "~") {
			return false
		}
		s = strings.TrimRight(s, " \t\n")
		if s == "" {
			return false
		}
		c := s[len(s)-1]
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '"'
	}
	// Walk the string literals; every {{app}} must sit in a "…" opened right after `label =`.
	var quote byte // the open literal's quote, 0 outside
	exact := false // the open literal is the value of an exact-match matcher
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case quote != 0 && c == '\\' && quote != '`':
			i++ // an escaped character
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
			exact = c == '"' && exactMatcherBefore(tmpl[:i])
		case strings.HasPrefix(tmpl[i:], appPlaceholder):
			var why string
			switch {
			case quote == 0:
				why = "is outside a string literal"
			case quote != '"':
				why = "is in a single-quoted or raw string, where the name is not escaped"
			case !exact:
				why = "is in a string that is not the value of an exact-match matcher (a regex =~ or !~, a != or a function argument)"
			}
			if why != "" {
				return &PlaceholderError{What: what, Name: name, Reason: fmt.Sprintf("%s at offset %d %s; an application named \".*\" would then match every service: use it only as label=\"%s\"",
					appPlaceholder, i, why, appPlaceholder)}
			}
			i += len(appPlaceholder) - 1
		}
	}
	return nil
}

// PlaceholderError is a template that uses {{app}} where an application's name is not safe.
type PlaceholderError struct {
	What, Name string // "metric" or "enrichment query", and its name
	Reason     string // where {{app}} stands and why that is unsafe
}

func (e *PlaceholderError) Error() string {
	return fmt.Sprintf("promsource: %s %q: %s", e.What, e.Name, e.Reason)
}

// Direction names accepted by ParseDirection.
const (
	DirectionHigherIsWorse = "higher_is_worse"
	DirectionLowerIsWorse  = "lower_is_worse"
	DirectionNeutral       = "neutral"
)

// ParseDirection maps a configuration string — "higher_is_worse", "lower_is_worse" or
// "neutral", exactly — to a compare.Direction.
func ParseDirection(s string) (compare.Direction, error) {
	switch s {
	case DirectionHigherIsWorse:
		return compare.HigherIsWorse, nil
	case DirectionLowerIsWorse:
		return compare.LowerIsWorse, nil
	case DirectionNeutral:
		return compare.Neutral, nil
	}
	return 0, fmt.Errorf("promsource: unknown direction %q: want %s, %s or %s", s, DirectionHigherIsWorse, DirectionLowerIsWorse, DirectionNeutral)
}
