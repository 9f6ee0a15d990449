package promsource

import (
	"fmt"
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
// for a PromQL string literal) and {{offset}} by "", " offset 1d" or " offset 1w" — the template
// must place {{offset}} right after each selector's range/instant part (e.g.
// `rate(x{service_name="{{app}}"}[1m]{{offset}})`).
//
// {{app}} must only appear inside a double-quoted equality matcher (="{{app}}"): the name is
// escaped as a string literal, not as a regular expression.
type Query struct {
	Metric    string // e.g. "throughput"
	Kind      string // TRANSACTION | ALERT | ISSUE
	Direction compare.Direction
	PromQL    string
}

const (
	httpCount   = `http_server_request_duration_seconds_count{service_name="{{app}}"}[1m]{{offset}}`
	httpErrors  = `http_server_request_duration_seconds_count{service_name="{{app}}",http_response_status_code=~"5.."}[1m]{{offset}}`
	httpBuckets = `http_server_request_duration_seconds_bucket{service_name="{{app}}"}[5m]{{offset}}`
)

func latency(q string) string {
	return "histogram_quantile(" + q + ", sum by (le) (rate(" + httpBuckets + ")))"
}

// DefaultQueries follow OpenTelemetry's HTTP semantic conventions as exported to Prometheus
// (metric http.server.request.duration → http_server_request_duration_seconds_{count,bucket},
// resource attribute service.name → label service_name):
//
//	throughput (Neutral, TRANSACTION): requests per second
//	error_ratio (HigherIsWorse, TRANSACTION): share of responses with a 5xx status
//	latency_p50 / latency_p90 / latency_p95 (HigherIsWorse, TRANSACTION): from the duration histogram
//	error_logs (HigherIsWorse, ISSUE): ERROR/FATAL log records per second
//	alerts_firing (HigherIsWorse, ALERT): firing alerts labelled application="<app>" (0 when none)
//
// error_logs assumes a counter log_records_total{service_name, severity} of log records by
// severity text (e.g. produced by the OpenTelemetry Collector's count connector or a
// log-to-metrics pipeline); without it that metric has no data and is reported as missing.
// alerts_firing assumes alerting rules attach an "application" label. Adjust the templates when
// a deployment uses other names.
func DefaultQueries() []Query {
	return []Query{
		{Metric: "throughput", Kind: "TRANSACTION", Direction: compare.Neutral,
			PromQL: "sum(rate(" + httpCount + "))"},
		{Metric: "error_ratio", Kind: "TRANSACTION", Direction: compare.HigherIsWorse,
			PromQL: "sum(rate(" + httpErrors + ")) / sum(rate(" + httpCount + "))"},
		{Metric: "latency_p50", Kind: "TRANSACTION", Direction: compare.HigherIsWorse, PromQL: latency("0.5")},
		{Metric: "latency_p90", Kind: "TRANSACTION", Direction: compare.HigherIsWorse, PromQL: latency("0.9")},
		{Metric: "latency_p95", Kind: "TRANSACTION", Direction: compare.HigherIsWorse, PromQL: latency("0.95")},
		{Metric: "error_logs", Kind: "ISSUE", Direction: compare.HigherIsWorse,
			PromQL: `sum(rate(log_records_total{service_name="{{app}}",severity=~"ERROR|FATAL"}[5m]{{offset}}))`},
		{Metric: "alerts_firing", Kind: "ALERT", Direction: compare.HigherIsWorse,
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

// render fills a template for app with the given offset ("", " offset 1d", " offset 1w").
func render(tmpl, app, offset string) string {
	return strings.NewReplacer(appPlaceholder, escapeString(app), offsetPlaceholder, offset).Replace(tmpl)
}

// validate checks a query before anything is sent.
func (q Query) validate() error {
	switch {
	case q.Metric == "":
		return fmt.Errorf("promsource: query with an empty metric name")
	case strings.TrimSpace(q.PromQL) == "":
		return fmt.Errorf("promsource: metric %q: empty PromQL template", q.Metric)
	case !strings.Contains(q.PromQL, offsetPlaceholder):
		// Without {{offset}} the baselines would silently equal the current window.
		return fmt.Errorf("promsource: metric %q: PromQL template has no %s placeholder", q.Metric, offsetPlaceholder)
	}
	return nil
}
