package tests

import (
	"encoding/json"
	"fmt"
	"net"
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

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// shopMetrics is a small instrumented server's OpenMetrics page: shop-api's request-duration
// histogram whose 5xx series carries, in its slowest bucket, the exemplar of a failing request
// with its trace ID (as an OpenTelemetry SDK exports it).
type shopMetrics struct {
	mu sync.Mutex
	n  float64
}

func (s *shopMetrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.n += 10
	n := s.n
	s.mu.Unlock()
	now := float64(time.Now().UnixMilli()) / 1000
	w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
	var b strings.Builder
	b.WriteString("# TYPE http_server_request_duration_seconds histogram\n")
	for _, code := range []string{"200", "500"} {
		labels := `service_name="shop-api",http_route="/api/checkout",http_request_method="POST",http_response_status_code="` + code + `"`
		count := n
		if code == "500" {
			count = n / 10
		}
		for _, le := range []string{"0.1", "1", "5"} {
			fmt.Fprintf(&b, "http_server_request_duration_seconds_bucket{%s,le=%q} %g", labels, le, count*map[string]float64{"0.1": 0.5, "1": 0.9, "5": 1}[le])
			if code == "500" && le == "5" {
				fmt.Fprintf(&b, ` # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 4.1 %.3f`, now)
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "http_server_request_duration_seconds_bucket{%s,le=\"+Inf\"} %g\n", labels, count)
		fmt.Fprintf(&b, "http_server_request_duration_seconds_count{%s} %g\n", labels, count)
		fmt.Fprintf(&b, "http_server_request_duration_seconds_sum{%s} %g\n", labels, count*0.3)
	}
	b.WriteString("# EOF\n")
	_, _ = w.Write([]byte(b.String()))
}

// TestInvestigationFollowsAnExemplarTrace: a real Prometheus (exemplar storage on) scrapes a small
// instrumented server whose failing requests carry exemplars; an Alertmanager-format alert for the
// application, which has no profile, no deployment and no history to compare with, gets a report
// that names the failing trace's slow step, fetched from a local OTLP-JSON trace API.
func TestInvestigationFollowsAnExemplarTrace(t *testing.T) {
	promBin, _ := promBinaries(t)
	dir := t.TempDir()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	shop := &httptest.Server{Listener: lis, Config: &http.Server{Handler: &shopMetrics{}}}
	shop.Start()
	t.Cleanup(shop.Close)
	addr := testenv.FreeAddr(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(
		"global: {scrape_interval: 1s}\nscrape_configs: [{job_name: shop, static_configs: [{targets: [%q]}]}]\n", lis.Addr().String())), 0o644))
	cmd := exec.Command(promBin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--enable-feature=exemplar-storage")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	require.Eventually(t, ready(addr), 60*time.Second, 200*time.Millisecond)
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

	trace, err := os.ReadFile(filepath.Join("..", "tracesource", "testdata", "tempo-trace.json"))
	require.NoError(t, err)
	tempo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/4bf92f3577b34da6a3ce929d0e0e4736") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(trace)
	}))
	t.Cleanup(tempo.Close)
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = "http://" + addr
		c.Alerts.GroupWindow = time.Second
		c.Traces.OTLP = []config.OTLPSource{{Name: "tempo", URL: tempo.URL + "/api/traces/{traceId}"}}
	}))
	code, out, _ := post(t, base+"/v1/alerts/alertmanager", alertmanagerAlert("HighErrorRate", "shop-api", time.Now().Add(-time.Minute).UTC().Truncate(time.Second)))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc struct {
		WorkflowID string `json:"workflowId"`
	}
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	t.Log(v.Report)
	var details struct {
		Investigation analyst.Investigation `json:"investigation"`
	}
	require.NoError(t, json.Unmarshal(v.Details, &details))
	tr := details.Investigation.Trace
	require.NotNil(t, tr)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", tr.TraceID, tr.Note)
	require.True(t, tr.Failing)
	summary := strings.SplitN(v.Report, "\n\n", 2)[0]
	require.Contains(t, summary, "the failing trace 4bf92f35 (POST /api/checkout)")
	require.Contains(t, summary, "PaymentGatewayException", "the failing step of the fetched trace")
	require.Contains(t, v.Report, "1. Find and fix the cause of com.shop.payment.PaymentGatewayException", "the trace's action is in the plan")
}
