package promsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ops/vigil/compare"
)

const (
	// DefaultTimeout is the timeout of the HTTP client New creates when given nil.
	DefaultTimeout = 30 * time.Second
	// Step is the resolution of the series Metrics returns.
	Step = time.Minute
	// maxPoints is Prometheus's limit of points per series in a range query.
	maxPoints = 11000
	// maxBodyBytes bounds a response body.
	maxBodyBytes = 64 << 20
	// parallel is how many queries Metrics, Table and Around run at once.
	parallel = 4
)

// Client queries one Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics).
type Client struct {
	endpoint       string // …/api/v1/query_range
	queryEndpoint  string // …/api/v1/query
	configEndpoint string // …/api/v1/status/config
	http           *http.Client

	scrapeMu         sync.Mutex
	configuredScrape time.Duration // prometheus.scrape_interval; 0: detect
	detectedScrape   time.Duration
	detectedFrom     string
	detectedAt       time.Time
}

// New returns a client for the Prometheus at baseURL (e.g. "http://prometheus:9090", or with a
// path prefix such as "https://mimir.example/prometheus"). A nil httpClient is replaced by one
// with a 30 s timeout.
func New(baseURL string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("promsource: invalid Prometheus URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("promsource: invalid Prometheus URL %q: want http(s)://host[:port][/prefix]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("promsource: invalid Prometheus URL %q: no query or fragment allowed", baseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{
		endpoint:       u.JoinPath("api/v1/query_range").String(),
		queryEndpoint:  u.JoinPath("api/v1/query").String(),
		configEndpoint: u.JoinPath("api/v1/status/config").String(),
		http:           httpClient,
	}, nil
}

// Sample is one point of a range query's result.
type Sample struct {
	T time.Time
	V float64
}

// APIError is an error reported by Prometheus ({"status":"error","errorType":…,"error":…}) or
// an unexpected HTTP status.
type APIError struct {
	HTTPStatus int    // HTTP status code
	Type       string // errorType, e.g. "bad_data", "execution", "timeout"; empty if the body was not JSON
	Message    string // error, or the start of a non-JSON body
}

func (e *APIError) Error() string {
	if e.Type == "bad_data" {
		return fmt.Sprintf("Prometheus rejected the query as invalid (bad_data, HTTP %d): %s", e.HTTPStatus, e.Message)
	}
	if e.Type == "" {
		return fmt.Sprintf("Prometheus returned HTTP %d: %s", e.HTTPStatus, e.Message)
	}
	return fmt.Sprintf("Prometheus error %s (HTTP %d): %s", e.Type, e.HTTPStatus, e.Message)
}

// BadQuery reports whether Prometheus rejected the query itself (a syntax or type error in a
// template) rather than failing to run it.
func (e *APIError) BadQuery() bool { return e.Type == "bad_data" }

// grid returns the evaluation timestamps of [from, to) at step: from (truncated to the
// millisecond), from+step, … strictly before to.
func grid(from, to time.Time, step time.Duration) (start time.Time, n int, err error) {
	if step <= 0 || step%time.Millisecond != 0 {
		return time.Time{}, 0, fmt.Errorf("promsource: step %v must be a positive whole number of milliseconds", step)
	}
	start = from.Truncate(time.Millisecond)
	if !to.After(start) {
		return time.Time{}, 0, fmt.Errorf("promsource: empty window [%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	d := to.Sub(start)
	n = int((d + step - 1) / step)
	if n > maxPoints {
		return time.Time{}, 0, fmt.Errorf("promsource: window of %v at step %v is %d points, more than Prometheus's %d", d, step, n, maxPoints)
	}
	return start, n, nil
}

func promTime(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// QueryRange is the raw call: it evaluates promql at from, from+step, … strictly before to
// (GET /api/v1/query_range with start, end = the last such timestamp, and step in seconds) and
// returns the points in time order. When the result has several series they are summed per
// timestamp (a NaN in any of them makes that sum NaN, as PromQL's sum does); no series gives an
// empty slice. Prometheus's "NaN", "+Inf" and "-Inf" values are kept.
func (c *Client) QueryRange(ctx context.Context, promql string, from, to time.Time, step time.Duration) ([]Sample, error) {
	start, n, err := grid(from, to, step)
	if err != nil {
		return nil, err
	}
	end := start.Add(time.Duration(n-1) * step)
	q := url.Values{}
	q.Set("query", promql)
	q.Set("start", promTime(start))
	q.Set("end", promTime(end))
	q.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))

	status, body, err := c.get(ctx, c.endpoint, "query_range", q)
	if err != nil {
		return nil, err
	}
	data, err := decodeEnvelope(status, body, "query_range")
	if err != nil {
		return nil, err
	}
	return decodeMatrix(data)
}

// get sends GET endpoint?params and returns the status and the body (at most maxBodyBytes).
func (c *Client) get(ctx context.Context, endpoint, what string, params url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+params.Encode(), nil)
	if err != nil {
		return 0, nil, fmt.Errorf("promsource: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("promsource: %s: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("promsource: reading %s response: %w", what, err)
	}
	if len(body) > maxBodyBytes {
		return 0, nil, fmt.Errorf("promsource: %s response larger than %d bytes", what, maxBodyBytes)
	}
	return resp.StatusCode, body, nil
}

type apiResponse struct {
	Status    string     `json:"status"`
	ErrorType string     `json:"errorType"`
	Error     string     `json:"error"`
	Data      resultData `json:"data"`
}

type resultData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// decodeEnvelope checks the HTTP status and Prometheus's status envelope and returns the data.
func decodeEnvelope(status int, body []byte, what string) (resultData, error) {
	var r apiResponse
	jerr := json.Unmarshal(body, &r)
	if jerr != nil || r.Status == "" {
		if status/100 != 2 {
			return resultData{}, &APIError{HTTPStatus: status, Message: snippet(body)}
		}
		if jerr == nil {
			jerr = errors.New("no status field")
		}
		return resultData{}, fmt.Errorf("promsource: malformed %s response: %v", what, jerr)
	}
	if r.Status != "success" {
		msg := r.Error
		if msg == "" {
			msg = "status " + r.Status
		}
		return resultData{}, &APIError{HTTPStatus: status, Type: r.ErrorType, Message: msg}
	}
	if status/100 != 2 {
		return resultData{}, &APIError{HTTPStatus: status, Message: snippet(body)}
	}
	return r.Data, nil
}

// parsePoint decodes a [<unix seconds>, "<value>"] pair.
func parsePoint(p [2]json.RawMessage) (ts, v float64, err error) {
	var vs string
	if err := json.Unmarshal(p[0], &ts); err != nil {
		return 0, 0, fmt.Errorf("promsource: malformed timestamp %s: %v", p[0], err)
	}
	if err := json.Unmarshal(p[1], &vs); err != nil {
		return 0, 0, fmt.Errorf("promsource: malformed value %s: %v", p[1], err)
	}
	v, err = strconv.ParseFloat(vs, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("promsource: malformed value %q: %v", vs, err)
	}
	return ts, v, nil
}

// decodeMatrix sums a matrix result's series per timestamp, in time order.
func decodeMatrix(data resultData) ([]Sample, error) {
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("promsource: query_range returned result type %q, want matrix", data.ResultType)
	}
	var result []struct {
		Metric map[string]string    `json:"metric"`
		Values [][2]json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(data.Result, &result); err != nil {
		return nil, fmt.Errorf("promsource: malformed query_range result: %v", err)
	}
	sums := map[int64]float64{}
	for _, s := range result {
		for _, p := range s.Values {
			ts, v, err := parsePoint(p)
			if err != nil {
				return nil, err
			}
			ms := int64(math.Round(ts * 1000))
			if old, ok := sums[ms]; ok {
				v += old
			}
			sums[ms] = v
		}
	}
	keys := make([]int64, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Sample, len(keys))
	for i, k := range keys {
		out[i] = Sample{T: time.UnixMilli(k).UTC(), V: sums[k]}
	}
	return out, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// baselines are the three evaluations of every query.
var baselines = []struct{ name, offset string }{
	{"current", ""},
	{"1d", " offset 1d"},
	{"1w", " offset 1w"},
}

// Metrics runs every query for app over [from, to) at a 1-minute step, three times (no offset,
// offset 1d, offset 1w — all evaluated at the same timestamps; Prometheus applies the offset),
// and returns one compare.Metric per query, in order. {{rate_interval}} becomes the rate window
// for the scrape interval (see ScrapeInterval and RateInterval); a query whose template writes a
// range shorter than four scrape intervals is not run and comes back Invalid, with the reason. A
// series Prometheus returns no data for is an empty slice (no data, never zeros); several result
// series are summed per timestamp; values are aligned to the step grid (from, from+1m, …) with
// NaN for missing points. Every query must pass Validate.
func (c *Client) Metrics(ctx context.Context, app string, from, to time.Time, queries []Query) ([]compare.Metric, error) {
	return c.MetricsBefore(ctx, app, from, to, time.Time{}, queries)
}

// MetricsBefore is Metrics with, when before is set, each metric's values just before the change
// that started at before — [before − L, before) at the same step, where L is the window's length,
// at least 30 minutes and at most an hour — without offset and with offset 1d and 1w
// (compare.Metric.Before, BeforeDay, BeforeWeek).
func (c *Client) MetricsBefore(ctx context.Context, app string, from, to, before time.Time, queries []Query) ([]compare.Metric, error) {
	if app == "" {
		return nil, errors.New("promsource: empty application name")
	}
	start, n, err := grid(from, to, Step)
	if err != nil {
		return nil, err
	}
	for _, q := range queries {
		if err := q.Validate(); err != nil {
			return nil, err
		}
	}
	scrape, source := c.ScrapeInterval(ctx)
	rate := promDuration(RateInterval(scrape, Step))
	invalid := make([]string, len(queries))
	for i, q := range queries {
		if short := ShortRanges(q.PromQL, scrape); len(short) > 0 {
			invalid[i] = fmt.Sprintf("the template's range %s is shorter than 4 scrape intervals (%s, %s): rate() has too few samples; use [%s]",
				strings.Join(short, ", "), scrape, source, ratePlaceholder)
		}
	}

	windows := len(baselines)
	var bStart time.Time
	var bn int
	if !before.IsZero() {
		l := min(max(to.Sub(from), 30*time.Minute), time.Hour)
		if bStart, bn, err = grid(before.Add(-l), before, Step); err != nil {
			return nil, err
		}
		windows += len(baselines) // the window before the change, and its own baselines
	}
	series := make([][6][]float64, len(queries))
	err = fanOut(ctx, len(queries)*windows, func(ctx context.Context, slot int) error {
		qi, bi := slot/windows, slot%windows
		if invalid[qi] != "" {
			return nil
		}
		q := queries[qi]
		if bi >= len(baselines) { // just before the change, and a day and a week before that
			b := baselines[bi-len(baselines)]
			samples, err := c.QueryRange(ctx, render(q.PromQL, app, b.offset, rate), bStart, before, Step)
			if err != nil {
				return fmt.Errorf("promsource: metric %q (%s window before the change): %w", q.Metric, b.name, err)
			}
			series[qi][bi] = align(samples, bStart, bn)
			return nil
		}
		b := baselines[bi]
		samples, err := c.QueryRange(ctx, render(q.PromQL, app, b.offset, rate), start, to, Step)
		if err != nil {
			return fmt.Errorf("promsource: metric %q (%s window): %w", q.Metric, b.name, err)
		}
		series[qi][bi] = align(samples, start, n)
		return nil
	})
	if err != nil {
		return nil, err
	}

	out := make([]compare.Metric, len(queries))
	for i, q := range queries {
		out[i] = compare.Metric{
			Name: q.Metric, Kind: q.Kind, Direction: q.Direction,
			Current: series[i][0], Day: series[i][1], Week: series[i][2],
			Before: series[i][3], BeforeDay: series[i][4], BeforeWeek: series[i][5],
			MinRelChange: q.MinRelChange, MinAbsChange: q.MinAbsChange, Invalid: invalid[i],
			Traffic: q.Traffic, PerTraffic: q.PerTraffic, Start: start, Step: Step,
		}
	}
	return out, nil
}

// firstError reports the first real failure rather than the cancellations it caused.
func firstError(errs []error) error {
	var first error
	for _, e := range errs {
		if e != nil && (first == nil || (errors.Is(first, context.Canceled) && !errors.Is(e, context.Canceled))) {
			first = e
		}
	}
	return first
}

// align places samples on the grid start, start+Step, … (n points), NaN where absent. No
// samples gives an empty (non-nil) slice: missing data, not zeros.
func align(samples []Sample, start time.Time, n int) []float64 {
	if len(samples) == 0 {
		return []float64{}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	stepMs := Step.Milliseconds()
	for _, s := range samples {
		d := s.T.UnixMilli() - start.UnixMilli()
		i := int(math.Round(float64(d) / float64(stepMs)))
		if i >= 0 && i < n {
			out[i] = s.V
		}
	}
	return out
}
