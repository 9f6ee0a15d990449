package promsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/compare"
)

// vector builds a Prometheus instant-query vector response; elems come from elem.
func vector(elems ...string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(elems, ",") + `]}}`
}

// elem is one vector element evaluated at ts (Unix seconds, possibly fractional).
func elem(labels string, ts float64, v string) string {
	return fmt.Sprintf(`{"metric":{%s},"value":[%v,"%s"]}`, labels, ts, v)
}

func route(r string) string { return `"http_route":"` + r + `"` }

func TestQueryVector(t *testing.T) {
	at := time.Date(2025, 3, 10, 13, 0, 0, 250e6, time.UTC)
	c, f := newFake(t, func(string) (int, string) {
		return 200, vector(
			elem(`"__name__":"up","job":"api","instance":"a:9090"`, 1741611600.25, "1"),
			elem(`"job":"api","instance":"b:9090"`, 1741611600.25, "NaN"),
			elem(``, 1741611600.25, "-Inf"),
		)
	})
	got, err := c.Query(context.Background(), `up{job="api"}`, at)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, map[string]string{"job": "api", "instance": "a:9090"}, got[0].Labels, "__name__ dropped")
	require.Equal(t, 1.0, got[0].Value)
	require.True(t, math.IsNaN(got[1].Value))
	require.Equal(t, map[string]string{}, got[2].Labels)
	require.True(t, math.IsInf(got[2].Value, -1))

	require.Len(t, f.requests, 1)
	require.Equal(t, "/api/v1/query", f.requests[0]["path"])
	require.Equal(t, `up{job="api"}`, f.requests[0]["query"])
	require.Equal(t, "1741611600.250", f.requests[0]["time"])
}

func TestQueryScalar(t *testing.T) {
	c, _ := newFake(t, func(string) (int, string) {
		return 200, `{"status":"success","data":{"resultType":"scalar","result":[1741611600,"42.5"]}}`
	})
	got, err := c.Query(context.Background(), `scalar(sum(up))`, to)
	require.NoError(t, err)
	require.Equal(t, []Series{{Value: 42.5}}, got)
	require.Empty(t, got[0].Labels)

	c, _ = newFake(t, func(string) (int, string) { return 200, vector() })
	got, err = c.Query(context.Background(), `absent_thing`, to)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Empty(t, got)
}

func TestQueryErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
	}{
		"bad_data":         {400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error"}`, "invalid (bad_data, HTTP 400)"},
		"execution":        {422, `{"status":"error","errorType":"execution","error":"found duplicate series for the match group"}`, "Prometheus error execution (HTTP 422): found duplicate"},
		"non-JSON 503":     {503, `Service Unavailable`, "HTTP 503: Service Unavailable"},
		"malformed 200":    {200, `{"status":"success","data":{`, "malformed query response"},
		"matrix result":    {200, matrix(), `result type "matrix", want vector or scalar`},
		"string result":    {200, `{"status":"success","data":{"resultType":"string","result":[1741611600,"x"]}}`, `result type "string"`},
		"bad value":        {200, vector(elem(`"a":"b"`, 1, "abc")), `malformed value "abc"`},
		"native histogram": {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"histogram":[1741611600,{"count":"2","sum":"1","buckets":[]}]}]}}`, `series {a="b"} has no float value`},
		"bad scalar":       {200, `{"status":"success","data":{"resultType":"scalar","result":null}}`, "malformed scalar result"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := newFake(t, func(string) (int, string) { return tc.status, tc.body })
			_, err := c.Query(context.Background(), "up", to)
			require.ErrorContains(t, err, tc.want)
			if tc.status != 200 {
				var apiErr *APIError
				require.True(t, errors.As(err, &apiErr))
				require.Equal(t, tc.status, apiErr.HTTPStatus)
				require.Equal(t, name == "bad_data", apiErr.BadQuery())
			}
		})
	}
	c, _ := newFake(t, func(string) (int, string) { return 200, vector() })
	_, err := c.Query(context.Background(), " ", to)
	require.ErrorContains(t, err, "empty PromQL")
	_, err = c.Query(context.Background(), "up", time.Time{})
	require.ErrorContains(t, err, "evaluation time")
}

func TestTable(t *testing.T) {
	end := from.Add(time.Hour)
	ts := float64(end.Unix())
	c, f := newFake(t, func(q string) (int, string) {
		switch {
		case strings.Contains(q, "offset 1d"):
			return 200, vector(
				elem(route("/b"), ts, "20"),
				elem(route("/a"), ts, "0"),
				elem(route("/only-yesterday"), ts, "99"),
			)
		case strings.Contains(q, "offset 1w"):
			return 200, vector(
				elem(route("/b"), ts, "25"),
				elem(route("/e"), ts, "NaN"), // counts as absent
				elem(route("/f"), ts, "2"),
			)
		default:
			return 200, vector(
				elem(`"__name__":"x",`+route("/a"), ts, "10"),
				elem(route("/b"), ts, "30"),
				elem(route("/c"), ts, "NaN"),
				elem(route("/d"), ts, "0"),
				elem(route("/e"), ts, "30"),
				elem(route("/f"), ts, "5"),
				elem(route("/g"), ts, "+Inf"),
				elem(route("/h"), ts, "1"),
			)
		}
	})
	q := EnrichQuery{Name: "errs", Kind: "TRANSACTION", Title: "Errors", Limit: 4,
		PromQL: `sum by (http_route) (increase(e{service_name="{{app}}"}[{{window}}]{{offset}}))`}
	tab, err := c.Table(context.Background(), q, "shop", from, end)
	require.NoError(t, err)

	require.Equal(t, "errs", tab.Name)
	require.Equal(t, "TRANSACTION", tab.Kind)
	require.Equal(t, "Errors", tab.Title)
	require.Equal(t, `sum by (http_route) (increase(e{service_name="shop"}[3600s]))`, tab.Query)

	f64 := func(v float64) *float64 { return &v }
	require.Equal(t, []Row{
		// /b and /e tie at 30: ordered by label set.
		{Labels: map[string]string{"http_route": "/b"}, Current: 30, Day: f64(20), Week: f64(25)},
		{Labels: map[string]string{"http_route": "/e"}, Current: 30, New: true},
		{Labels: map[string]string{"http_route": "/a"}, Current: 10, Day: f64(0), New: true},
		{Labels: map[string]string{"http_route": "/f"}, Current: 5, Week: f64(2)},
		// /h (1) is past the limit; /c (NaN), /d (0) and /g (+Inf) are dropped.
	}, tab.Rows)

	// The three queries, all at instant `to`.
	seen := map[string]bool{}
	for _, r := range f.requests {
		require.Equal(t, "/api/v1/query", r["path"])
		require.Equal(t, promTime(end), r["time"])
		seen[r["query"]] = true
	}
	require.Equal(t, map[string]bool{
		`sum by (http_route) (increase(e{service_name="shop"}[3600s]))`:           true,
		`sum by (http_route) (increase(e{service_name="shop"}[3600s] offset 1d))`: true,
		`sum by (http_route) (increase(e{service_name="shop"}[3600s] offset 1w))`: true,
	}, seen)

	// JSON-encodable, no NaN anywhere.
	b, err := json.Marshal(tab)
	require.NoError(t, err)
	require.Contains(t, string(b), `{"labels":{"http_route":"/e"},"current":30,"new":true}`)
	require.Contains(t, string(b), `{"labels":{"http_route":"/a"},"current":10,"day":0,"new":true}`)
}

func TestTableDefaultsAndDuplicates(t *testing.T) {
	var elems []string
	for i := range 8 {
		elems = append(elems, elem(route(fmt.Sprint(i)), 1, fmt.Sprint(i+1)))
	}
	// Two series that differ only by __name__ collapse into one row, summed.
	elems = append(elems, elem(`"__name__":"a","k":"v"`, 1, "100"), elem(`"__name__":"b","k":"v"`, 1, "50"))
	c, _ := newFake(t, func(q string) (int, string) {
		if strings.Contains(q, "offset") {
			return 200, vector()
		}
		return 200, vector(elems...)
	})
	tab, err := c.Table(context.Background(), EnrichQuery{Name: "n", Kind: "ISSUE", PromQL: `x{a="{{app}}"}{{offset}}`}, "shop", from, to)
	require.NoError(t, err)
	require.Equal(t, "n", tab.Title, "empty title falls back to the name")
	require.Len(t, tab.Rows, DefaultEnrichLimit)
	require.Equal(t, Row{Labels: map[string]string{"k": "v"}, Current: 150, New: true}, tab.Rows[0])
	for i, r := range tab.Rows[1:] {
		require.Equal(t, float64(8-i), r.Current)
		require.Nil(t, r.Day)
		require.True(t, r.New)
	}

	// A scalar result is one row with an empty (not null) label set.
	c, _ = newFake(t, func(string) (int, string) {
		return 200, `{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}`
	})
	tab, err = c.Table(context.Background(), EnrichQuery{Name: "s", Kind: "ALERT", PromQL: `scalar(x{a="{{app}}"}{{offset}})`}, "shop", from, to)
	require.NoError(t, err)
	b, err := json.Marshal(tab.Rows)
	require.NoError(t, err)
	require.JSONEq(t, `[{"labels":{},"current":3,"day":3,"week":3}]`, string(b))
}

func TestTableWindowRendering(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "3600s"},
		{30 * time.Second, "60s"},         // minimum
		{90500 * time.Millisecond, "91s"}, // rounded up to a whole second
		{26 * time.Hour, "93600s"},
	} {
		got, err := windowRange(from, from.Add(tc.d), 0)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, tc.d)
	}
	_, err := windowRange(from, from, 0)
	require.ErrorContains(t, err, "empty window")

	c, f := newFake(t, func(string) (int, string) { return 200, vector() })
	tab, err := c.Table(context.Background(), EnrichQuery{Name: "n", Kind: "ISSUE", PromQL: `x{a="{{app}}"}[{{window}}]{{offset}}`}, "shop", from, from.Add(10*time.Second))
	require.NoError(t, err)
	require.Equal(t, `x{a="shop"}[60s]`, tab.Query)
	require.NotNil(t, tab.Rows)
	require.Empty(t, tab.Rows)
	require.Len(t, f.requests, 3)

	_, err = c.Table(context.Background(), DefaultEnrichQueries()[0], "shop", to, from)
	require.ErrorContains(t, err, "empty window")
	_, err = c.Table(context.Background(), DefaultEnrichQueries()[0], "", from, to)
	require.ErrorContains(t, err, "empty application")
	_, err = c.Table(context.Background(), EnrichQuery{Name: "n", Kind: "NOPE", PromQL: `x{a="{{app}}"}{{offset}}`}, "shop", from, to)
	require.ErrorContains(t, err, "kind")
}

func TestTableErrorNamesQueryAndWindow(t *testing.T) {
	c, _ := newFake(t, func(q string) (int, string) {
		if strings.Contains(q, "offset 1w") {
			return 422, `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`
		}
		return 200, vector()
	})
	_, err := c.Table(context.Background(), DefaultEnrichQueries()[2], "shop", from, to)
	require.ErrorContains(t, err, `enrichment query "new_error_groups" (1w window)`)
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr))
	require.Equal(t, "execution", apiErr.Type)
}

func TestDefaultEnrichQueriesGolden(t *testing.T) {
	qs := DefaultEnrichQueries()
	got := map[string]string{}
	for _, q := range qs {
		require.NoError(t, q.Validate(), q.Name)
		require.NotEmpty(t, q.Title, q.Name)
		got[q.Name] = q.Kind + " " + renderEnrich(q.PromQL, "shop", " offset 1d", "3600s")
	}
	require.Equal(t, map[string]string{
		"top_failing_endpoints": `TRANSACTION sum by (http_route, http_request_method) (increase(http_server_request_duration_seconds_count{service_name="shop",http_response_status_code=~"5.."}[3600s] offset 1d))`,
		"slowest_endpoints":     `TRANSACTION histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{service_name="shop"}[3600s] offset 1d)))`,
		"new_error_groups":      `ISSUE sum by (exception_type, severity) (increase(log_records_total{service_name="shop",severity=~"ERROR|FATAL"}[3600s] offset 1d))`,
		"alerts_in_window":      `ALERT max by (alertname, severity) (max_over_time(ALERTS{alertstate="firing",application="shop"}[3600s] offset 1d))`,
	}, got)
	require.Equal(t, `x{a="evil\"} or vector(1)"}[60s]`, renderEnrich(`x{a="{{app}}"}[{{window}}]{{offset}}`, `evil"} or vector(1)`, "", "60s"))
}

func TestEnrichQueryValidate(t *testing.T) {
	ok := EnrichQuery{Name: "top_failing.endpoints-2", Kind: "ALERT", PromQL: `x{a="{{app}}"}[{{window}}]{{offset}}`, Limit: MaxEnrichLimit}
	require.NoError(t, ok.Validate())
	for want, mut := range map[string]func(*EnrichQuery){
		"empty name":                          func(q *EnrichQuery) { q.Name = "" },
		"only letters, digits":                func(q *EnrichQuery) { q.Name = "top failing" },
		`kind "" is not one of`:               func(q *EnrichQuery) { q.Kind = "" },
		`kind "transaction" is not one of`:    func(q *EnrichQuery) { q.Kind = "transaction" },
		"limit -1 is not between 0 and 100":   func(q *EnrichQuery) { q.Limit = -1 },
		"limit 101":                           func(q *EnrichQuery) { q.Limit = 101 },
		"empty PromQL template":               func(q *EnrichQuery) { q.PromQL = "  " },
		"no {{app}} placeholder":              func(q *EnrichQuery) { q.PromQL = `x[{{window}}]{{offset}}` },
		"no {{offset}} placeholder":           func(q *EnrichQuery) { q.PromQL = `x{a="{{app}}"}[{{window}}]` },
		`unknown placeholder "{{ window }}"`:  func(q *EnrichQuery) { q.PromQL = `x{a="{{app}}"}[{{ window }}]{{offset}}` },
		`unknown placeholder "{{application"`: func(q *EnrichQuery) { q.PromQL = `x{a="{{app}}"}{{offset}}{{application` },
	} {
		q := ok
		mut(&q)
		require.ErrorContains(t, q.Validate(), want)
	}
}

func TestQueryValidate(t *testing.T) {
	ok := Query{Metric: "m", Kind: "TRANSACTION", Direction: compare.LowerIsWorse, PromQL: `x{a="{{app}}"}{{offset}}`}
	require.NoError(t, ok.Validate())
	for want, mut := range map[string]func(*Query){
		"empty metric name":                func(q *Query) { q.Metric = "" },
		`kind "" is not one of`:            func(q *Query) { q.Kind = "" },
		`kind "LATENCY" is not one of`:     func(q *Query) { q.Kind = "LATENCY" },
		"unknown direction 7":              func(q *Query) { q.Direction = 7 },
		"empty PromQL template":            func(q *Query) { q.PromQL = "" },
		"no {{app}} placeholder":           func(q *Query) { q.PromQL = `sum(x{offset}})` },
		"no {{offset}} placeholder":        func(q *Query) { q.PromQL = `x{a="{{app}}"}` },
		`unknown placeholder "{{window}}"`: func(q *Query) { q.PromQL = `x{a="{{app}}"}[{{window}}]{{offset}}` },
	} {
		q := ok
		mut(&q)
		require.ErrorContains(t, q.Validate(), want)
	}
	for _, q := range DefaultQueries() {
		require.NoError(t, q.Validate(), q.Metric)
	}
}

func TestParseDirection(t *testing.T) {
	for s, want := range map[string]compare.Direction{
		"higher_is_worse": compare.HigherIsWorse,
		"lower_is_worse":  compare.LowerIsWorse,
		"neutral":         compare.Neutral,
	} {
		got, err := ParseDirection(s)
		require.NoError(t, err)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "Neutral", "higher", " neutral"} {
		_, err := ParseDirection(s)
		require.ErrorContains(t, err, "unknown direction", s)
	}
}

func TestAroundStep(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		n    int
		want time.Duration
	}{
		{24 * time.Hour, 0, time.Hour},                 // default 24 points
		{24 * time.Hour, -3, time.Hour},                // default 24 points
		{time.Hour, 24, 3 * time.Minute},               // 150 s → 3 min
		{time.Hour, 60, time.Minute},                   // exact
		{time.Hour + time.Second, 60, 2 * time.Minute}, // just over → rounded up
		{10 * time.Minute, 24, time.Minute},            // minimum
		{5 * time.Minute, 1_000_000, time.Minute},      // huge maxPoints
		{6 * time.Hour, 4, 90 * time.Minute},           // 4 points
		{7 * 24 * time.Hour, 0, 7 * time.Hour},         // a week
		{90 * time.Second, 1, 2 * time.Minute},         // one point
	} {
		require.Equal(t, tc.want, aroundStep(tc.d, tc.n), "%v / %d", tc.d, tc.n)
	}
}

func TestAround(t *testing.T) {
	end := from.Add(6 * time.Hour)
	at := func(min int, v string) string { return pt(min, v) }
	c, f := newFake(t, func(q string) (int, string) {
		if strings.Contains(q, "offset 1d") {
			return 200, matrix()
		}
		return 200, matrix(
			series(`"instance":"a"`, at(0, "1"), at(15, "NaN"), at(30, "2"), at(45, "+Inf")),
			series(`"instance":"b"`, at(0, "10"), at(30, "20"), at(60, "-Inf")),
		)
	})
	q := Query{Metric: "throughput", Kind: "TRANSACTION", Direction: compare.Neutral, PromQL: `sum(rate(x{a="{{app}}"}[5m]{{offset}}))`}
	a, err := c.Around(context.Background(), q, "shop", from, end, 0)
	require.NoError(t, err)
	require.Equal(t, "throughput", a.Metric)
	require.Equal(t, "TRANSACTION", a.Kind)
	require.Equal(t, 15*time.Minute, a.Step)
	require.Equal(t, []Point{
		{T: from, V: 11},
		{T: from.Add(30 * time.Minute), V: 22},
	}, a.Current, "NaN and ±Inf points dropped (a NaN in one series makes the sum NaN)")
	require.NotNil(t, a.Day)
	require.Empty(t, a.Day)

	require.Len(t, f.requests, 2)
	seen := map[string]bool{}
	for _, r := range f.requests {
		require.Equal(t, "/api/v1/query_range", r["path"])
		require.Equal(t, "900", r["step"])
		require.Equal(t, promTime(from), r["start"])
		require.Equal(t, promTime(end.Add(-15*time.Minute)), r["end"])
		seen[r["query"]] = true
	}
	require.Equal(t, map[string]bool{
		`sum(rate(x{a="shop"}[5m]))`:           true,
		`sum(rate(x{a="shop"}[5m] offset 1d))`: true,
	}, seen)

	b, err := json.Marshal(a)
	require.NoError(t, err)
	require.Contains(t, string(b), `"step":900000000000,"current":[{"t":"2025-03-10T12:00:00Z","v":11}`)
	require.Contains(t, string(b), `"day":[]`)

	_, err = c.Around(context.Background(), q, "shop", end, from, 0)
	require.ErrorContains(t, err, "empty window")
	_, err = c.Around(context.Background(), q, "", from, end, 0)
	require.ErrorContains(t, err, "empty application")
	q.Kind = ""
	_, err = c.Around(context.Background(), q, "shop", from, end, 0)
	require.ErrorContains(t, err, "kind")
}
