package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// The helpers the investigation's end-to-end tests share: a real Prometheus (backfilled, scraping,
// or both), generated request-duration histories, and Vigil's own deployment records.

// promOptions start a real Prometheus: history is an OpenMetrics file backfilled with promtool
// before it starts; scrape targets are scraped every second (with exemplar storage on).
type promOptions struct {
	History string   // an OpenMetrics file ("" for none)
	Scrape  []string // host:port targets
}

// startPrometheus starts the Debian Prometheus under dir and returns its host:port once it is ready.
func startPrometheus(t *testing.T, dir string, o promOptions) string {
	t.Helper()
	promBin, promtool := promBinaries(t)
	data := filepath.Join(dir, "tsdb")
	if o.History != "" {
		out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", o.History, data).CombinedOutput()
		require.NoError(t, err, "promtool: %s", out)
	}
	cfg := "global: {scrape_interval: 1m}\n"
	if len(o.Scrape) > 0 {
		cfg = "global: {scrape_interval: 1s}\nscrape_configs: [{job_name: app, static_configs: [{targets: ["
		for i, target := range o.Scrape {
			if i > 0 {
				cfg += ", "
			}
			cfg += fmt.Sprintf("%q", target)
		}
		cfg += "]}]}]\n"
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	addr := testenv.FreeAddr(t)
	cmd := exec.Command(promBin, "--config.file="+cfgPath, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=30d",
		"--web.listen-address="+addr, "--enable-feature=exemplar-storage")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	require.Eventually(t, ready(addr), 60*time.Second, 200*time.Millisecond)
	return addr
}

// shapeFunc gives an application's request rate (per second), median latency (seconds) and 5xx
// share at a minute.
type shapeFunc func(app string, ts time.Time) (rps, median, errShare float64)

// steadyShape is an ordinary day: 40 rps ±30 % over the day, an 80 ms median, 0.5 % 5xx.
func steadyShape(ts time.Time) (rps, median, errShare float64) {
	day := 2 * math.Pi * float64(ts.Unix()%86400) / 86400
	return 40 * (1 + 0.3*math.Sin(day)), 0.08, 0.005
}

// writeShapedHistory writes per-minute OpenMetrics request-duration histograms (POST /api/orders,
// 200 and 500) of every application over the segments, each minute shaped by shape.
func writeShapedHistory(t *testing.T, path string, segments [][2]time.Time, apps []string, shape shapeFunc) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	les := []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	type key struct{ app, code string }
	count := map[key]float64{}
	buckets := map[key][]float64{}
	fmt.Fprintln(w, "# TYPE http_server_request_duration_seconds histogram")
	for _, seg := range segments {
		for ts := seg[0]; ts.Before(seg[1]); ts = ts.Add(time.Minute) {
			for _, app := range apps {
				rps, median, errShare := shape(app, ts)
				for _, code := range []string{"200", "500"} {
					k := key{app, code}
					n := rps * 60 * (1 - errShare)
					if code == "500" {
						n = rps * 60 * errShare
					}
					count[k] += n
					if buckets[k] == nil {
						buckets[k] = make([]float64, len(les))
					}
					labels := fmt.Sprintf(`service_name=%q,http_route="/api/orders",http_request_method="POST",http_response_status_code=%q`, app, code)
					for i, le := range les {
						buckets[k][i] += n * le / (le + median)
						fmt.Fprintf(w, "http_server_request_duration_seconds_bucket{%s,le=\"%g\"} %.3f %d\n", labels, le, buckets[k][i], ts.Unix())
					}
					fmt.Fprintf(w, "http_server_request_duration_seconds_bucket{%s,le=\"+Inf\"} %.3f %d\n", labels, count[k], ts.Unix())
					fmt.Fprintf(w, "http_server_request_duration_seconds_count{%s} %.3f %d\n", labels, count[k], ts.Unix())
				}
			}
		}
	}
	fmt.Fprintln(w, "# EOF")
	require.NoError(t, w.Flush())
}

// alertSegments are the hours around an alert and the same hours 1 d and 1 w earlier: from
// before hours before the alert to end.
func alertSegments(alertAt, end time.Time, before time.Duration) [][2]time.Time {
	var segments [][2]time.Time
	for _, off := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, 0} {
		segments = append(segments, [2]time.Time{alertAt.Add(-before - off), end.Add(-off)})
	}
	return segments
}

// announceFinished records a deployment of app in Vigil (POST /v1/deployments, planned 5 minutes
// before it finished) with its finish event.
func announceFinished(t *testing.T, base, id, version, app string, finished time.Time) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"plannedAt":%q,"version":%q,"applications":[{"id":%q,"name":%q}]}`,
		id, finished.Add(-5*time.Minute).Format(time.RFC3339), version, app, app)
	code, out, _ := post(t, base+"/v1/deployments", []byte(body))
	require.Equal(t, http.StatusAccepted, code, string(out))
	code, out, _ = post(t, base+"/v1/deployments/"+id+"/events", []byte(`{"type":"finished","at":"`+finished.Format(time.RFC3339)+`"}`))
	require.Equal(t, http.StatusAccepted, code, string(out))
}

// waitCaughtUp waits until a deployment announced late is watched and has its pre-check and
// catch-up checkpoints judged.
func waitCaughtUp(t *testing.T, base, id string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var st workflows.DeploymentState
		getJSON(t, base+"/v1/deployments/"+id, &st)
		n := 0
		for _, cp := range st.Checkpoints {
			if cp.Verdict != nil || cp.Error != "" {
				n++
			}
		}
		return st.Status == "watching" && st.FinishedAt != nil && n >= 2
	}, 3*time.Minute, 500*time.Millisecond, "the catch-up checkpoints of %s", id)
}

// instrumentedApp is one application a small instrumented server exports: its request-duration
// histogram (200 and 500 series of one route), the 500 series' slowest bucket carrying the
// exemplar of a failing request when TraceID is set (as an OpenTelemetry SDK exports it).
type instrumentedApp struct {
	Service, Route string
	TraceID        string
	Seconds        float64 // the exemplar's duration
}

// instrumentedServer serves the OpenMetrics page of its applications; every scrape adds ten
// requests, one in ten failing.
type instrumentedServer struct {
	apps []instrumentedApp
	mu   sync.Mutex
	n    float64
}

func (s *instrumentedServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.n += 10
	n := s.n
	s.mu.Unlock()
	now := float64(time.Now().UnixMilli()) / 1000
	w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
	var b strings.Builder
	b.WriteString("# TYPE http_server_request_duration_seconds histogram\n")
	for _, app := range s.apps {
		for _, code := range []string{"200", "500"} {
			labels := fmt.Sprintf(`service_name=%q,http_route=%q,http_request_method="POST",http_response_status_code=%q`, app.Service, app.Route, code)
			count := n
			if code == "500" {
				count = n / 10
			}
			for _, le := range []string{"0.1", "1", "5"} {
				fmt.Fprintf(&b, "http_server_request_duration_seconds_bucket{%s,le=%q} %g", labels, le, count*map[string]float64{"0.1": 0.5, "1": 0.9, "5": 1}[le])
				if code == "500" && le == "5" && app.TraceID != "" {
					fmt.Fprintf(&b, ` # {trace_id=%q} %g %.3f`, app.TraceID, app.Seconds, now)
				}
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "http_server_request_duration_seconds_bucket{%s,le=\"+Inf\"} %g\n", labels, count)
			fmt.Fprintf(&b, "http_server_request_duration_seconds_count{%s} %g\n", labels, count)
			fmt.Fprintf(&b, "http_server_request_duration_seconds_sum{%s} %g\n", labels, count*0.3)
		}
	}
	b.WriteString("# EOF\n")
	_, _ = w.Write([]byte(b.String()))
}

// startInstrumented serves apps' metrics on a local port and returns its host:port.
func startInstrumented(t *testing.T, apps ...instrumentedApp) string {
	t.Helper()
	srv := httptest.NewServer(&instrumentedServer{apps: apps})
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// waitExemplars waits until the Prometheus at addr holds an exemplar of the request-duration
// histogram (it scraped one).
func waitExemplars(t *testing.T, addr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://%s/api/v1/query_exemplars?query=%s&start=%d&end=%d", addr,
			"http_server_request_duration_seconds_bucket", time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Minute).Unix()))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r struct {
			Data []json.RawMessage `json:"data"`
		}
		return json.NewDecoder(resp.Body).Decode(&r) == nil && len(r.Data) > 0
	}, 30*time.Second, 500*time.Millisecond, "Prometheus scraped the exemplars")
}

// traceAPI is a local OTLP-JSON trace API (Tempo's /api/traces/{id}) serving traces by ID.
func traceAPI(t *testing.T, traces map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		body, ok := traces[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/traces/{traceId}"
}
