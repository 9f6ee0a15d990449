package changecorpus

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RateWindow is the rate() window used at a scrape interval: about four scrapes (75s at 15s, 2m
// at 30s, 4m at 60s).
func RateWindow(scrape time.Duration) time.Duration {
	if scrape <= 15*time.Second {
		return 5 * scrape
	}
	return 4 * scrape
}

// MetricQueries are the PromQL of the metrics Measure reads, shaped like Vigil's default
// templates: {{app}}, {{w}} (rate window) and {{offset}} are filled in.
var MetricQueries = []struct{ Metric, PromQL string }{
	{"throughput", `sum(rate(http_server_request_duration_seconds_count{service_name="{{app}}"}[{{w}}]{{offset}}))`},
	{"error_ratio", `sum(rate(http_server_request_duration_seconds_count{service_name="{{app}}",http_response_status_code=~"5.."}[{{w}}]{{offset}})) / sum(rate(http_server_request_duration_seconds_count{service_name="{{app}}"}[{{w}}]{{offset}}))`},
	{"latency_p50", `histogram_quantile(0.5, sum by (le) (rate(http_server_request_duration_seconds_bucket{service_name="{{app}}"}[{{w}}]{{offset}})))`},
	{"latency_p90", `histogram_quantile(0.9, sum by (le) (rate(http_server_request_duration_seconds_bucket{service_name="{{app}}"}[{{w}}]{{offset}})))`},
	{"latency_p95", `histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{service_name="{{app}}"}[{{w}}]{{offset}})))`},
	{"error_logs", `sum(rate(log_records_total{service_name="{{app}}",severity="ERROR"}[{{w}}]{{offset}})) or (sum(rate(log_records_total{service_name="{{app}}"}[{{w}}]{{offset}})) * 0)`},
	{"fatal_logs", `sum(rate(log_records_total{service_name="{{app}}",severity="FATAL"}[{{w}}]{{offset}})) or (sum(rate(log_records_total{service_name="{{app}}"}[{{w}}]{{offset}})) * 0)`},
}

// Windows in a Facts row.
const (
	After = iota // [Finish, anchor]
	AfterDay
	AfterWeek
	Gate // [Planned-30m, Planned]
	GateDay
	GateWeek
)

// Stat is one metric over one window, from a query_range at step 1m: the median of the
// per-minute values and the share of minutes that had a value at all.
type Stat struct {
	Median   float64 // NaN when no minute had a value
	Coverage float64 // 0..1
}

// Facts are what the data of one scenario says, window by window (After ... GateWeek), measured
// on a real Prometheus with the default-shaped queries. They document the labels; they are not
// a judgement.
type Facts map[string][6]Stat

// String formats the facts as one line per metric: after (1d, 1w) | gate (1d, 1w).
func (f Facts) String() string {
	var b strings.Builder
	for _, q := range MetricQueries {
		st := f[q.Metric]
		fmt.Fprintf(&b, "  %-12s %8.4g (%8.4g, %8.4g) cov %.2f | gate %8.4g (%8.4g, %8.4g)\n", q.Metric,
			st[After].Median, st[AfterDay].Median, st[AfterWeek].Median, st[After].Coverage,
			st[Gate].Median, st[GateDay].Median, st[GateWeek].Median)
	}
	return b.String()
}

// Measure reads the scenario's facts from the Prometheus at promURL (anchor as given to
// WriteOpenMetrics).
func Measure(ctx context.Context, promURL string, anchor time.Time, scrape time.Duration, s Scenario) (Facts, error) {
	anchor = anchor.Truncate(scrape)
	w := promDuration(RateWindow(scrape))
	planned := Planned(anchor, s)
	windows := [6]struct {
		from, to time.Time
		offset   string
	}{
		{Finish(anchor, s), anchor, ""}, {Finish(anchor, s), anchor, " offset 1d"}, {Finish(anchor, s), anchor, " offset 1w"},
		{planned.Add(-30 * time.Minute), planned, ""}, {planned.Add(-30 * time.Minute), planned, " offset 1d"}, {planned.Add(-30 * time.Minute), planned, " offset 1w"},
	}
	facts := Facts{}
	for _, q := range MetricQueries {
		var row [6]Stat
		for i, win := range windows {
			promQL := strings.NewReplacer("{{app}}", s.Name, "{{w}}", w, "{{offset}}", win.offset).Replace(q.PromQL)
			vals, steps, err := queryRange(ctx, promURL, promQL, win.from, win.to)
			if err != nil {
				return nil, err
			}
			row[i] = Stat{Median: median(vals), Coverage: float64(len(vals)) / float64(steps)}
		}
		facts[q.Metric] = row
	}
	return facts, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// queryRange runs a query_range at step 1m and returns the non-NaN values of its single series
// and the number of steps asked.
func queryRange(ctx context.Context, base, q string, from, to time.Time) ([]float64, int, error) {
	u := base + "/api/v1/query_range?" + url.Values{"query": {q}, "start": {strconv.FormatInt(from.Unix(), 10)},
		"end": {strconv.FormatInt(to.Unix(), 10)}, "step": {"60"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status, Error string
		Data          struct {
			Result []struct{ Values [][2]any }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, 0, fmt.Errorf("changecorpus: query_range %s: %v", q, err)
	}
	if r.Status != "success" {
		return nil, 0, fmt.Errorf("changecorpus: query_range %s: %s", q, r.Error)
	}
	steps := int(to.Sub(from)/time.Minute) + 1
	if len(r.Data.Result) > 1 {
		return nil, 0, fmt.Errorf("changecorpus: query_range %s: %d series", q, len(r.Data.Result))
	}
	var vals []float64
	for _, res := range r.Data.Result {
		for _, v := range res.Values {
			s, _ := v[1].(string)
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) {
				vals = append(vals, f)
			}
		}
	}
	return vals, steps, nil
}

// promDuration formats d as PromQL and Prometheus write durations (75s, 2m, 1h).
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}
