package tests

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// writeHistory writes a week of per-minute OpenMetrics history for two applications, the way an
// OpenTelemetry SDK exports HTTP server metrics to Prometheus: request-duration histograms by
// status code and an error-log counter, with a daily traffic pattern. regressed's latency
// triples after regressAt; steady keeps its ordinary daily pattern.
func writeHistory(t *testing.T, path string, from, to, regressAt time.Time, regressed, steady string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	les := []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	type key struct{ app, code string }
	count := map[key]float64{}
	buckets := map[key][]float64{}
	logs := map[string]float64{}
	apps := []string{regressed, steady}
	fmt.Fprintln(w, "# TYPE http_server_request_duration_seconds histogram")
	var lines []string
	for ts := from; ts.Before(to); ts = ts.Add(time.Minute) {
		day := 2 * math.Pi * float64(ts.Unix()%86400) / 86400
		rps := 50 * (1 + 0.5*math.Sin(day))
		for _, app := range apps {
			median := 0.08
			if app == regressed && !ts.Before(regressAt) {
				median = 0.24
			}
			for _, code := range []string{"200", "500"} {
				k := key{app, code}
				n := rps * 60 * 0.995
				if code == "500" {
					n = rps * 60 * 0.005
				}
				count[k] += n
				if buckets[k] == nil {
					buckets[k] = make([]float64, len(les))
				}
				for i, le := range les {
					buckets[k][i] += n * le / (le + median) // log-logistic CDF around the median
				}
				for i, le := range les {
					lines = append(lines, fmt.Sprintf(`http_server_request_duration_seconds_bucket{service_name=%q,http_response_status_code=%q,le="%g"} %.3f %d`, app, code, le, buckets[k][i], ts.Unix()))
				}
				lines = append(lines, fmt.Sprintf(`http_server_request_duration_seconds_bucket{service_name=%q,http_response_status_code=%q,le="+Inf"} %.3f %d`, app, code, count[k], ts.Unix()))
				lines = append(lines, fmt.Sprintf(`http_server_request_duration_seconds_count{service_name=%q,http_response_status_code=%q} %.3f %d`, app, code, count[k], ts.Unix()))
			}
			logs[app] += rps * 60 * 0.001
		}
	}
	// OpenMetrics wants each metric family's samples together: histogram first, then the logs.
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "# TYPE log_records counter")
	for ts := from; ts.Before(to); ts = ts.Add(time.Minute) {
		day := 2 * math.Pi * float64(ts.Unix()%86400) / 86400
		for _, app := range apps {
			logs[app+"#"] += 50 * (1 + 0.5*math.Sin(day)) * 60 * 0.001
			fmt.Fprintf(w, "log_records_total{service_name=%q,severity=\"ERROR\"} %.3f %d\n", app, logs[app+"#"], ts.Unix())
		}
	}
	fmt.Fprintln(w, "# EOF")
	require.NoError(t, w.Flush())
}

func promBinaries(t *testing.T) (prom, promtool string) {
	for _, p := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed: apt-get install -y prometheus (.ci/run does this)", p)
		}
	}
	return "prometheus", "promtool"
}

// TestChangeTrackingAgainstRealPrometheus loads a real Prometheus with a week of generated
// history, announces a deployment of two applications that finished a day ago (so its
// checkpoints are caught up at once), and expects the one with a real regression after the
// deployment judged UNSTABLE naming TRANSACTION, the one with an ordinary daily pattern STABLE.
func TestChangeTrackingAgainstRealPrometheus(t *testing.T) {
	promBin, promtool := promBinaries(t)
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Minute)
	planned := now.Add(-25 * time.Hour)
	finished := planned.Add(5 * time.Minute)
	om := filepath.Join(dir, "history.om")
	writeHistory(t, om, now.Add(-8*24*time.Hour-time.Hour), now.Add(-3*time.Hour), finished.Add(10*time.Minute), "checkout-api", "catalog-api")
	data := filepath.Join(dir, "tsdb")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput()
	require.NoError(t, err, "promtool: %s", out)

	addr := testenv.FreeAddr(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("global: {scrape_interval: 1m}\n"), 0o644))
	cmd := exec.Command(promBin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=30d",
		"--web.listen-address="+addr)
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 200*time.Millisecond)

	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) { c.Prometheus.URL = "http://" + addr }))
	body := fmt.Sprintf(`{"id":"rel-e2e","plannedAt":%q,"version":"3.1.0",
	  "applications":[{"id":"a1","name":"checkout-api"},{"id":"a2","name":"catalog-api"}]}`, planned.Format(time.RFC3339))
	code, resp, _ := post(t, base+"/v1/deployments", []byte(body))
	require.Equal(t, http.StatusAccepted, code, string(resp))
	code, resp, _ = post(t, base+"/v1/deployments/rel-e2e/events", []byte(`{"type":"finished","at":"`+finished.Format(time.RFC3339)+`"}`))
	require.Equal(t, http.StatusAccepted, code, string(resp))

	var st struct {
		Gate struct {
			Decision string `json:"decision"`
		} `json:"gate"`
		Checkpoints []struct {
			Label   string `json:"label"`
			CatchUp bool   `json:"catchUp"`
			Error   string `json:"error"`
			Verdict *struct {
				Applications []struct {
					Name   string   `json:"name"`
					State  string   `json:"state"`
					Metric []string `json:"metric"`
				} `json:"applications"`
			} `json:"verdict"`
		} `json:"checkpoints"`
	}
	require.Eventually(t, func() bool {
		getJSON(t, base+"/v1/deployments/rel-e2e", &st)
		for _, cp := range st.Checkpoints {
			if cp.CatchUp {
				return true
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond)
	require.Equal(t, "proceed", st.Gate.Decision, "before the deployment both applications look like their baselines")
	var catchUp = st.Checkpoints[len(st.Checkpoints)-1]
	require.Empty(t, catchUp.Error)
	require.NotNil(t, catchUp.Verdict)
	states := map[string]string{}
	metrics := map[string][]string{}
	for _, app := range catchUp.Verdict.Applications {
		states[app.Name], metrics[app.Name] = app.State, app.Metric
	}
	require.Equal(t, "UNSTABLE", states["checkout-api"])
	require.Contains(t, metrics["checkout-api"], "TRANSACTION")
	require.Equal(t, "STABLE", states["catalog-api"])
}
