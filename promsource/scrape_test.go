package promsource

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateInterval(t *testing.T) {
	for _, tc := range []struct {
		scrape, want time.Duration
	}{
		{15 * time.Second, 75 * time.Second}, // step + scrape beats 4 × 15 s
		{30 * time.Second, 2 * time.Minute},
		{time.Minute, 4 * time.Minute},
		{2 * time.Minute, 8 * time.Minute},
		{0, 4 * time.Minute}, // unknown: Prometheus's default 1m
	} {
		require.Equal(t, tc.want, RateInterval(tc.scrape, time.Minute), "scrape %s", tc.scrape)
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"15s": 15 * time.Second, "1m": time.Minute, "1h30m": 90 * time.Minute,
		"1d": 24 * time.Hour, "500ms": 500 * time.Millisecond, "2w": 14 * 24 * time.Hour} {
		got, err := ParseDuration(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "1", "m", "1m ", "1.5m", "-1m", "1x"} {
		_, err := ParseDuration(s)
		require.Error(t, err, "%q", s)
	}
}

func TestShortRanges(t *testing.T) {
	tmpl := `sum(rate(a{x="{{app}}"}[1m]{{offset}})) / sum(rate(b[5m]{{offset}})) + max_over_time(c[30m:1m]) + rate(d[{{rate_interval}}])`
	require.Equal(t, []string{"[1m]"}, ShortRanges(tmpl, time.Minute))
	require.Equal(t, []string{"[1m]", "[5m]"}, ShortRanges(tmpl, 2*time.Minute))
	require.Empty(t, ShortRanges(tmpl, 15*time.Second))
	require.Empty(t, ShortRanges(tmpl, 0))
}

// statusProm answers /api/v1/status/config with cfg (404 when empty) and every query with one
// value, and counts the calls.
func statusProm(t *testing.T, cfg string, upCount string) (*Client, *int) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch r.URL.Path {
		case "/api/v1/status/config":
			if cfg == "" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write([]byte(`{"status":"success","data":{"yaml":` + cfg + `}}`))
		case "/api/v1/query":
			require.Contains(t, r.URL.Query().Get("query"), "count_over_time(up[10m])")
			if upCount == "" {
				_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
				return
			}
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"` + upCount + `"]}]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, nil)
	require.NoError(t, err)
	return c, &calls
}

func TestScrapeIntervalDetection(t *testing.T) {
	ctx := context.Background()

	c, calls := statusProm(t, `"global:\n  scrape_interval: 30s\n  evaluation_interval: 1m\nscrape_configs:\n- job_name: x\n"`, "")
	d, from := c.ScrapeInterval(ctx)
	require.Equal(t, 30*time.Second, d)
	require.Equal(t, "status/config", from)
	_, _ = c.ScrapeInterval(ctx)
	require.Equal(t, 1, *calls, "a detected interval is reused")

	// A configuration without global.scrape_interval means Prometheus's default, 1m.
	c, _ = statusProm(t, `"global:\n  evaluation_interval: 1m\n"`, "")
	d, _ = c.ScrapeInterval(ctx)
	require.Equal(t, time.Minute, d)

	// No status endpoint (Mimir, Thanos): 40 samples of up in 10 minutes → 15 s.
	c, _ = statusProm(t, "", "40")
	d, from = c.ScrapeInterval(ctx)
	require.Equal(t, 15*time.Second, d)
	require.Equal(t, "samples", from)

	// Nothing to learn from: the default.
	c, _ = statusProm(t, "", "")
	d, from = c.ScrapeInterval(ctx)
	require.Equal(t, DefaultScrapeInterval, d)
	require.Equal(t, "default", from)

	// Configured wins, without a request.
	c, calls = statusProm(t, `"global:\n  scrape_interval: 30s\n"`, "")
	c.SetScrapeInterval(time.Minute)
	d, from = c.ScrapeInterval(ctx)
	require.Equal(t, time.Minute, d)
	require.Equal(t, "configured", from)
	require.Zero(t, *calls)
}

// A template that writes a [1m] range at a 60 s scrape interval is not run: its metric comes back
// Invalid with the reason, and the others are queried with the rate window for 60 s.
func TestMetricsRateWindowFollowsScrapeInterval(t *testing.T) {
	c, f := newFake(t, func(string) (int, string) { return 200, matrix() })
	c.SetScrapeInterval(time.Minute)
	ms, err := c.Metrics(context.Background(), "shop", from, to, []Query{
		{Metric: "short", Kind: "TRANSACTION", PromQL: `sum(rate(x{a="{{app}}"}[1m]{{offset}}))`},
		{Metric: "good", Kind: "TRANSACTION", PromQL: `sum(rate(x{a="{{app}}"}[{{rate_interval}}]{{offset}}))`},
	})
	require.NoError(t, err)
	require.Contains(t, ms[0].Invalid, "[1m] is shorter than 4 scrape intervals (1m0s, configured)")
	require.Empty(t, ms[1].Invalid)
	require.Len(t, f.requests, 3)
	for _, r := range f.requests {
		require.True(t, strings.HasPrefix(r["query"], `sum(rate(x{a="shop"}[240s]`), r["query"])
	}
}
