package promsource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/compare"
)

// fakeProm emulates GET /api/v1/query_range and /api/v1/query: reply(query) returns the status
// and body.
type fakeProm struct {
	mu       sync.Mutex
	requests []map[string]string // path, query, start, end, step, time
	reply    func(query string) (int, string)
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.URL.Path != "/api/v1/query_range" && r.URL.Path != "/api/v1/query") || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	f.requests = append(f.requests, map[string]string{"path": r.URL.Path, "query": q.Get("query"),
		"start": q.Get("start"), "end": q.Get("end"), "step": q.Get("step"), "time": q.Get("time")})
	f.mu.Unlock()
	status, body := f.reply(q.Get("query"))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func newFake(t *testing.T, reply func(string) (int, string)) (*Client, *fakeProm) {
	t.Helper()
	f := &fakeProm{reply: reply}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, nil)
	require.NoError(t, err)
	c.SetScrapeInterval(15 * time.Second) // rate windows of 75 s; detection has its own test
	return c, f
}

// Window: 12:00:00 to 12:05:00 → grid 12:00 … 12:04 (5 points).
var (
	from = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	to   = from.Add(5 * time.Minute)
	t0   = from.Unix()
)

func matrix(series ...string) string {
	return `{"status":"success","data":{"resultType":"matrix","result":[` + strings.Join(series, ",") + `]}}`
}

func series(labels string, points ...string) string {
	return `{"metric":{` + labels + `},"values":[` + strings.Join(points, ",") + `]}`
}

func pt(minute int, v string) string { return fmt.Sprintf(`[%d,"%s"]`, t0+int64(minute)*60, v) }

func nan() float64 { return math.NaN() }

// requireSeries compares float slices treating NaN as equal to NaN.
func requireSeries(t *testing.T, want, got []float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for i := range want {
		if math.IsNaN(want[i]) {
			require.True(t, math.IsNaN(got[i]), "%s[%d]: want NaN, got %v", msg, i, got[i])
			continue
		}
		require.InDelta(t, want[i], got[i], 1e-9, "%s[%d]", msg, i)
	}
}

func TestMetrics(t *testing.T) {
	c, f := newFake(t, func(q string) (int, string) {
		switch {
		// throughput: two series (e.g. two instances without sum), summed; a gap at minute 2 in one.
		case strings.HasPrefix(q, "tp") && !strings.Contains(q, "offset"):
			return 200, matrix(
				series(`"instance":"a"`, pt(0, "1"), pt(1, "2"), pt(2, "3"), pt(3, "4"), pt(4, "5")),
				series(`"instance":"b"`, pt(0, "10"), pt(1, "20"), pt(3, "40"), pt(4, "50")))
		// 1d: points missing at minutes 0 and 4 → NaN on the grid; a "NaN" value kept.
		case strings.HasPrefix(q, "tp") && strings.Contains(q, "offset 1d"):
			return 200, matrix(series(``, pt(1, "7"), pt(2, "NaN"), pt(3, "+Inf")))
		// 1w: no data at all.
		case strings.HasPrefix(q, "tp") && strings.Contains(q, "offset 1w"):
			return 200, matrix()
		default: // latency: one series everywhere
			return 200, matrix(series(`"le":"x"`, pt(0, "0.25"), pt(1, "0.5"), pt(2, "0.75"), pt(3, "1"), pt(4, "1.25")))
		}
	})
	queries := []Query{
		{Metric: "throughput", Kind: "TRANSACTION", Direction: compare.Neutral, PromQL: `tp(x{service_name="{{app}}"}[1m]{{offset}})`},
		{Metric: "latency_p95", Kind: "TRANSACTION", Direction: compare.HigherIsWorse, PromQL: `lat(y{service_name="{{app}}"}[5m]{{offset}})`},
	}
	ms, err := c.Metrics(context.Background(), "checkout", from, to, queries)
	require.NoError(t, err)
	require.Len(t, ms, 2)

	tp := ms[0]
	require.Equal(t, "throughput", tp.Name)
	require.Equal(t, "TRANSACTION", tp.Kind)
	require.Equal(t, compare.Neutral, tp.Direction)
	requireSeries(t, []float64{11, 22, 3, 44, 55}, tp.Current, "current")
	requireSeries(t, []float64{nan(), 7, nan(), math.Inf(1), nan()}, tp.Day, "day")
	require.NotNil(t, tp.Week)
	require.Empty(t, tp.Week, "no data must be an empty series, never zeros")

	lat := ms[1]
	require.Equal(t, "latency_p95", lat.Name)
	require.Equal(t, compare.HigherIsWorse, lat.Direction)
	for _, s := range [][]float64{lat.Current, lat.Day, lat.Week} {
		requireSeries(t, []float64{0.25, 0.5, 0.75, 1, 1.25}, s, "latency")
	}

	// Six requests, all with the same start/end/step; the offset is in the query only.
	require.Len(t, f.requests, 6)
	queriesSeen := map[string]bool{}
	for _, r := range f.requests {
		require.Equal(t, "1741608000.000", r["start"])
		require.Equal(t, "1741608240.000", r["end"], "end is the last grid point before to")
		require.Equal(t, "60", r["step"])
		queriesSeen[r["query"]] = true
	}
	require.Equal(t, map[string]bool{
		`tp(x{service_name="checkout"}[1m])`:            true,
		`tp(x{service_name="checkout"}[1m] offset 1d)`:  true,
		`tp(x{service_name="checkout"}[1m] offset 1w)`:  true,
		`lat(y{service_name="checkout"}[5m])`:           true,
		`lat(y{service_name="checkout"}[5m] offset 1d)`: true,
		`lat(y{service_name="checkout"}[5m] offset 1w)`: true,
	}, queriesSeen)

	// The result feeds the comparison engine: the 1w baseline is missing, not zero.
	f0 := compare.Compare(tp, compare.Options{MinPoints: 2})
	for _, b := range f0.Baselines {
		require.NotEqual(t, "1w", b.Name)
	}
}

func TestMetricsErrorNamesMetric(t *testing.T) {
	c, _ := newFake(t, func(q string) (int, string) {
		if strings.Contains(q, "broken") {
			return 400, `{"status":"error","errorType":"bad_data","error":"1:8: parse error: unexpected \"}\" in label matching"}`
		}
		return 200, matrix(series(``, pt(0, "1")))
	})
	_, err := c.Metrics(context.Background(), "checkout", from, to, []Query{
		{Metric: "throughput", Kind: "TRANSACTION", PromQL: `ok{a="{{app}}"}{{offset}}`},
		{Metric: "error_ratio", Kind: "TRANSACTION", PromQL: `broken{a="{{app}}"}}{{offset}}`},
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), `"error_ratio"`)
	require.Contains(t, err.Error(), "invalid (bad_data, HTTP 400)")
	require.Contains(t, err.Error(), "parse error")
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr))
	require.True(t, apiErr.BadQuery())
	require.Equal(t, 400, apiErr.HTTPStatus)
}

func TestQueryRangeErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
	}{
		"execution":     {422, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`, "Prometheus error execution (HTTP 422): many-to-many"},
		"timeout":       {503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`, "timeout (HTTP 503)"},
		"non-JSON 502":  {502, `<html>Bad Gateway</html>`, "HTTP 502: <html>Bad Gateway"},
		"malformed 200": {200, `{"status":"success","data":`, "malformed"},
		"vector result": {200, `{"status":"success","data":{"resultType":"vector","result":[]}}`, `result type "vector"`},
		"bad value":     {200, matrix(series(``, pt(0, "abc"))), `malformed value "abc"`},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := newFake(t, func(string) (int, string) { return tc.status, tc.body })
			_, err := c.QueryRange(context.Background(), "up", from, to, time.Minute)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestQueryRangeSumsAndSorts(t *testing.T) {
	c, f := newFake(t, func(string) (int, string) {
		return 200, matrix(
			series(`"a":"1"`, pt(2, "1"), pt(0, "1")),
			series(`"a":"2"`, pt(0, "2"), pt(1, "NaN")),
		)
	})
	got, err := c.QueryRange(context.Background(), "up", from, from.Add(150*time.Second), 30*time.Second)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, from, got[0].T)
	require.Equal(t, 3.0, got[0].V)
	require.Equal(t, from.Add(time.Minute), got[1].T)
	require.True(t, math.IsNaN(got[1].V))
	require.Equal(t, 1.0, got[2].V)
	require.Equal(t, "30", f.requests[0]["step"])
	require.Equal(t, "1741608120.000", f.requests[0]["end"]) // 12:02:00, the last point before 12:02:30
}

func TestAppNameEscaping(t *testing.T) {
	app := `evil"}) or vector(1) #\`
	got := render(`up{service_name="{{app}}"}{{offset}}`, app, "", "240s")
	require.Equal(t, `up{service_name="evil\"}) or vector(1) #\\"}`, got)
	require.Equal(t, `a\nb`, escapeString("a\nb"))

	c, f := newFake(t, func(string) (int, string) { return 200, matrix() })
	_, err := c.Metrics(context.Background(), app, from, to, []Query{{Metric: "m", Kind: "ALERT", PromQL: `up{service_name="{{app}}"}{{offset}}`}})
	require.NoError(t, err)
	for _, r := range f.requests {
		require.True(t, strings.HasPrefix(r["query"], `up{service_name="evil\"}) or vector(1) #\\"}`), r["query"])
	}
}

func TestDefaultQueriesGolden(t *testing.T) {
	const (
		cnt  = `http_server_request_duration_seconds_count{service_name="shop"}[240s]%s`
		err5 = `http_server_request_duration_seconds_count{service_name="shop",http_response_status_code=~"5.."}[240s]%s`
		bkt  = `http_server_request_duration_seconds_bucket{service_name="shop"}[240s]%s`
	)
	golden := func(off string) map[string]string {
		f := func(s string) string { return strings.ReplaceAll(s, "%s", off) }
		return map[string]string{
			"throughput":    f(`sum(rate(` + cnt + `))`),
			"error_ratio":   f(`(sum(rate(` + err5 + `)) or (sum(rate(` + cnt + `)) * 0)) / sum(rate(` + cnt + `))`),
			"latency_p50":   f(`histogram_quantile(0.5, sum by (le) (rate(` + bkt + `)))`),
			"latency_p90":   f(`histogram_quantile(0.9, sum by (le) (rate(` + bkt + `)))`),
			"latency_p95":   f(`histogram_quantile(0.95, sum by (le) (rate(` + bkt + `)))`),
			"error_logs":    f(`sum(rate(log_records_total{service_name="shop",severity="ERROR"}[240s]%s)) or (sum(rate(log_records_total{service_name="shop"}[240s]%s)) * 0)`),
			"fatal_logs":    f(`sum(rate(log_records_total{service_name="shop",severity="FATAL"}[240s]%s)) or (sum(rate(log_records_total{service_name="shop"}[240s]%s)) * 0)`),
			"alerts_firing": f(`count(ALERTS{alertstate="firing",application="shop"}%s) or vector(0)`),
		}
	}
	// Spelled out once in full, so the golden helper itself is checked.
	require.Equal(t,
		`(sum(rate(http_server_request_duration_seconds_count{service_name="shop",http_response_status_code=~"5.."}[240s] offset 1w)) or (sum(rate(http_server_request_duration_seconds_count{service_name="shop"}[240s] offset 1w)) * 0)) / sum(rate(http_server_request_duration_seconds_count{service_name="shop"}[240s] offset 1w))`,
		golden(" offset 1w")["error_ratio"])

	qs := DefaultQueries()
	require.Len(t, qs, 8)
	kinds := map[string]string{}
	for _, q := range qs {
		require.NoError(t, q.Validate())
		kinds[q.Metric] = q.Kind
		want := compare.HigherIsWorse
		if q.Metric == "throughput" {
			want = compare.LowerIsWorse // a drop beyond half is a regression, a surge is not
			require.Equal(t, 0.5, q.MinRelChange)
		}
		require.Equal(t, want, q.Direction, q.Metric)
	}
	require.Equal(t, map[string]string{
		"throughput": "TRANSACTION", "error_ratio": "TRANSACTION", "latency_p50": "TRANSACTION",
		"latency_p90": "TRANSACTION", "latency_p95": "TRANSACTION", "error_logs": "ISSUE", "fatal_logs": "ISSUE", "alerts_firing": "ALERT",
	}, kinds)
	for _, off := range []string{"", " offset 1d", " offset 1w"} {
		g := golden(off)
		for _, q := range qs {
			require.Equal(t, g[q.Metric], render(q.PromQL, "shop", off, "240s"), "%s with %q", q.Metric, off)
		}
	}
}

func TestValidation(t *testing.T) {
	for _, u := range []string{"", "prometheus:9090", "ftp://x", "http://", "http://x/?a=1", "::"} {
		_, err := New(u, nil)
		require.Error(t, err, u)
	}
	c, err := New("https://mimir.example/prometheus/", nil)
	require.NoError(t, err)
	require.Equal(t, "https://mimir.example/prometheus/api/v1/query_range", c.endpoint)
	require.Equal(t, "https://mimir.example/prometheus/api/v1/query", c.queryEndpoint)
	require.Equal(t, DefaultTimeout, c.http.Timeout)

	ctx := context.Background()
	_, err = c.Metrics(ctx, "", from, to, DefaultQueries())
	require.ErrorContains(t, err, "empty application")
	_, err = c.Metrics(ctx, "a", to, from, DefaultQueries())
	require.ErrorContains(t, err, "empty window")
	_, err = c.Metrics(ctx, "a", from, from.Add(8*24*time.Hour), DefaultQueries())
	require.ErrorContains(t, err, "more than Prometheus's")
	_, err = c.Metrics(ctx, "a", from, to, []Query{{Metric: "m", Kind: "ISSUE", PromQL: `up{a="{{app}}"}`}})
	require.ErrorContains(t, err, "no {{offset}} placeholder")
	_, err = c.QueryRange(ctx, "up", from, to, 0)
	require.ErrorContains(t, err, "step")
}

func TestGridPartialMinute(t *testing.T) {
	// [12:00:00, 12:04:30) has points 12:00 … 12:04; a sample at 12:04 lands in the last slot.
	start, n, err := grid(from, from.Add(270*time.Second), time.Minute)
	require.NoError(t, err)
	require.Equal(t, from, start)
	require.Equal(t, 5, n)
	requireSeries(t, []float64{nan(), nan(), nan(), nan(), 9}, align([]Sample{{T: from.Add(4 * time.Minute), V: 9}, {T: from.Add(9 * time.Minute), V: 1}}, start, n), "aligned")
}
