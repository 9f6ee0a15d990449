package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/promsource"
	"github.com/vigil-ops/vigil/starter"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// writeHistory writes a week of per-minute OpenMetrics history for two applications, the way an
// OpenTelemetry SDK exports HTTP server metrics to Prometheus: request-duration histograms by
// route, method and status code, and an error-log counter by exception type, with a daily
// traffic pattern. After regressAt, regressed's latency triples, its share of 5xx responses
// grows from 0.5 % to 3 % and a new exception type appears in its error logs; steady keeps its
// ordinary daily pattern.
func writeHistory(t *testing.T, path string, from, to, regressAt time.Time, regressed, steady string) {
	t.Helper()
	writeAppsHistory(t, path, from, to, regressAt, []string{regressed}, []string{steady})
}

// writeAppsHistory is writeHistory for several applications: every one of regressed regresses at
// regressAt (serving POST /api/checkout), every one of steady keeps its daily pattern (GET
// /api/items).
func writeAppsHistory(t *testing.T, path string, from, to, regressAt time.Time, regressed, steady []string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	les := []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	type key struct{ app, code string }
	count := map[key]float64{}
	buckets := map[key][]float64{}
	apps := slices.Concat(regressed, steady)
	route := map[string]string{}
	for _, app := range regressed {
		route[app] = `http_route="/api/checkout",http_request_method="POST"`
	}
	for _, app := range steady {
		route[app] = `http_route="/api/items",http_request_method="GET"`
	}
	fmt.Fprintln(w, "# TYPE http_server_request_duration_seconds histogram")
	var lines []string
	for ts := from; ts.Before(to); ts = ts.Add(time.Minute) {
		day := 2 * math.Pi * float64(ts.Unix()%86400) / 86400
		rps := 50 * (1 + 0.5*math.Sin(day))
		for _, app := range apps {
			median, errShare := 0.08, 0.005
			if slices.Contains(regressed, app) && !ts.Before(regressAt) {
				median, errShare = 0.24, 0.03
			}
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
				for i, le := range les {
					buckets[k][i] += n * le / (le + median) // log-logistic CDF around the median
				}
				labels := fmt.Sprintf(`service_name=%q,%s,http_response_status_code=%q`, app, route[app], code)
				for i, le := range les {
					lines = append(lines, fmt.Sprintf(`http_server_request_duration_seconds_bucket{%s,le="%g"} %.3f %d`, labels, le, buckets[k][i], ts.Unix()))
				}
				lines = append(lines, fmt.Sprintf(`http_server_request_duration_seconds_bucket{%s,le="+Inf"} %.3f %d`, labels, count[k], ts.Unix()))
				lines = append(lines, fmt.Sprintf(`http_server_request_duration_seconds_count{%s} %.3f %d`, labels, count[k], ts.Unix()))
			}
		}
	}
	// OpenMetrics wants each metric family's samples together, and each series' samples in
	// time order: histogram first, then the logs series by series.
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "# TYPE log_records counter")
	for _, app := range apps {
		for _, exc := range []string{"TimeoutException", "PoolExhaustedException"} {
			total := 0.0
			for ts := from; ts.Before(to); ts = ts.Add(time.Minute) {
				day := 2 * math.Pi * float64(ts.Unix()%86400) / 86400
				perMin := 50 * (1 + 0.5*math.Sin(day)) * 60 * 0.001
				if exc == "PoolExhaustedException" {
					if !slices.Contains(regressed, app) || ts.Before(regressAt) {
						continue // a new error group: it exists only after the regression
					}
					perMin *= 2
				}
				total += perMin
				fmt.Fprintf(w, "log_records_total{service_name=%q,severity=\"ERROR\",exception_type=%q} %.3f %d\n", app, exc, total, ts.Unix())
			}
		}
	}
	fmt.Fprintln(w, "# EOF")
	require.NoError(t, w.Flush())
}

func promBinaries(t *testing.T) (prom, promtool string) {
	for _, p := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(p); err != nil {
			testenv.Missing(t, "%s is not installed: apt-get install -y prometheus (.ci/run does this)", p)
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
	require.Eventually(t, ready(addr), 60*time.Second, 200*time.Millisecond)

	// A real Alertmanager holding an alert for the regressed application that fired after the
	// deployment: Vigil reads it over the API v2 as an ALERT fact and attaches it.
	amAddr := startQuietAlertmanager(t, dir)
	alert := fmt.Sprintf(`[{"labels":{"alertname":"CheckoutLatencyHigh","application":"checkout-api","severity":"critical"},
	  "annotations":{"summary":"p95 above 200 ms"},"startsAt":%q}]`, finished.Add(2*time.Hour).Format(time.RFC3339))
	resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", strings.NewReader(alert))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The notify webhook: what people (or their tools) receive.
	var mu sync.Mutex
	var notices []notify.WebhookPayload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err == nil {
			mu.Lock()
			notices = append(notices, p)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)

	app, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = "http://" + addr
		c.Alertmanager.URL = "http://" + amAddr
		c.Notify.Webhook.URL = hook.URL
	}))
	body := fmt.Sprintf(`{"id":"rel-e2e","plannedAt":%q,"version":"3.1.0",
	  "applications":[{"id":"a1","name":"checkout-api"},{"id":"a2","name":"catalog-api"}]}`, planned.Format(time.RFC3339))
	code, out, _ := post(t, base+"/v1/deployments", []byte(body))
	require.Equal(t, http.StatusAccepted, code, string(out))
	code, out, _ = post(t, base+"/v1/deployments/rel-e2e/events", []byte(`{"type":"finished","at":"`+finished.Format(time.RFC3339)+`"}`))
	require.Equal(t, http.StatusAccepted, code, string(out))

	var st workflows.DeploymentState
	require.Eventually(t, func() bool {
		st = workflows.DeploymentState{}
		getJSON(t, base+"/v1/deployments/rel-e2e", &st)
		return st.Status == "done"
	}, 90*time.Second, 200*time.Millisecond)
	require.Equal(t, "proceed", st.Gate.Decision, "before the deployment both applications look like their baselines")
	catchUp := st.Checkpoints[len(st.Checkpoints)-1]
	require.True(t, catchUp.CatchUp)
	require.Empty(t, catchUp.Error)
	require.NotNil(t, catchUp.Verdict)
	states := map[string]string{}
	metrics := map[string][]string{}
	for _, a := range catchUp.Verdict.Applications {
		states[a.Name], metrics[a.Name] = a.State, a.Metric
	}
	require.Equal(t, "UNSTABLE", states["checkout-api"])
	require.Contains(t, metrics["checkout-api"], "TRANSACTION")
	require.Contains(t, metrics["checkout-api"], "ALERT", "the alert Alertmanager holds")
	require.Equal(t, "STABLE", states["catalog-api"])

	// The enrichment: data for each metric kind the verdict names, from the real Prometheus and
	// Alertmanager.
	require.Len(t, catchUp.Enrichments, 1, "only the application that is not STABLE")
	e := catchUp.Enrichments[0]
	require.Equal(t, "checkout-api", e.App)
	require.Empty(t, e.Errors)
	tables := map[string]promsource.Table{}
	for _, tb := range e.Tables {
		tables[tb.Name] = tb
	}
	failing := tables["top_failing_endpoints"]
	require.NotEmpty(t, failing.Rows, "top failing endpoints")
	require.Equal(t, "/api/checkout", failing.Rows[0].Labels["http_route"])
	require.NotNil(t, failing.Rows[0].Day)
	require.Greater(t, failing.Rows[0].Current, 3*(*failing.Rows[0].Day), "5xx grew from 0.5 %% to 3 %%")
	require.NotEmpty(t, tables["slowest_endpoints"].Rows)
	var summaries []string
	for _, a := range catchUp.Apps {
		for _, f := range a.Findings {
			summaries = append(summaries, a.Name+": "+f.Summary)
		}
	}
	require.Contains(t, metrics["checkout-api"], "ISSUE", "error logs tripled with a new exception type:\n%s", strings.Join(summaries, "\n"))
	var isNew []string
	for _, r := range tables["new_error_groups"].Rows {
		if r.New {
			isNew = append(isNew, r.Labels["exception_type"])
		}
	}
	require.Equal(t, []string{"PoolExhaustedException"}, isNew, "the new error group")
	require.Len(t, e.Alerts, 1)
	require.Equal(t, "CheckoutLatencyHigh", e.Alerts[0].Name)
	var series []string
	for _, s := range e.Series {
		require.NotEmpty(t, s.Current, s.Metric)
		series = append(series, s.Metric)
	}
	require.Contains(t, series, "latency_p95", "the series around the change of a degraded metric")

	// The notification carried the verdict with its data, once.
	mu.Lock()
	var unstable []notify.WebhookPayload
	for _, n := range notices {
		if strings.HasPrefix(n.Title, "[UNSTABLE] deployment rel-e2e") {
			unstable = append(unstable, n)
		}
	}
	mu.Unlock()
	require.Len(t, unstable, 1, "one notification for the catch-up checkpoint")
	require.Contains(t, unstable[0].Text, "Top failing endpoints")
	require.Contains(t, unstable[0].Text, "POST /api/checkout")
	require.Contains(t, unstable[0].Text, "CheckoutLatencyHigh")
	require.NotNil(t, unstable[0].Data)

	// The stored record lists the deployment, and answers once Temporal no longer has it.
	var page struct {
		Deployments []starter.DeploymentSummary `json:"deployments"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/deployments?application=checkout-api&state=UNSTABLE", &page))
	require.Len(t, page.Deployments, 1)
	require.Equal(t, "rel-e2e", page.Deployments[0].ID)
	require.Equal(t, "done", page.Deployments[0].Status)
	// The record the workflow stored, served for a deployment Temporal does not know (as when
	// its history is past retention): the same state, from the store alone.
	rec, err := app.Store.GetDeployment(context.Background(), "rel-e2e")
	require.NoError(t, err)
	require.Equal(t, "UNSTABLE", rec.State)
	rec.ID = "rel-archived"
	require.NoError(t, app.Store.SaveDeployment(context.Background(), rec))
	var stored workflows.DeploymentState
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/deployments/rel-archived", &stored))
	require.Equal(t, "done", stored.Status)
	require.Len(t, stored.Checkpoints, len(st.Checkpoints))
	require.Equal(t, "UNSTABLE", stored.Checkpoints[len(stored.Checkpoints)-1].Verdict.State)
}

// startQuietAlertmanager starts the Debian Alertmanager with a receiver that sends nothing, for
// tests that only use its API.
func startQuietAlertmanager(t *testing.T, dir string) string {
	t.Helper()
	bin := alertmanagerBinary(t)
	cfg := filepath.Join(dir, "alertmanager.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("route: {receiver: quiet}\nreceivers: [{name: quiet}]\n"), 0o644))
	addr := testenv.FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	logf, _ := os.Create(filepath.Join(dir, "alertmanager.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	require.Eventually(t, ready(addr), 30*time.Second, 100*time.Millisecond)
	return addr
}

// ready reports whether the Prometheus-style server at addr answers /-/ready.
func ready(addr string) func() bool {
	return func() bool {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}
