package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
	"github.com/vigil-ops/vigil/starter"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// queryCounter is a reverse proxy in front of Prometheus that counts the queries through it and
// when they came.
type queryCounter struct {
	mu          sync.Mutex
	n           int
	first, last time.Time
}

func (q *queryCounter) reset() {
	q.mu.Lock()
	q.n, q.first, q.last = 0, time.Time{}, time.Time{}
	q.mu.Unlock()
}

func (q *queryCounter) snapshot() (int, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, q.last.Sub(q.first)
}

func (q *queryCounter) proxy(t *testing.T, target string) string {
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rp.ServeHTTP(w, r)
		if strings.HasPrefix(r.URL.Path, "/api/v1/query") {
			q.mu.Lock()
			q.n++
			if q.first.IsZero() {
				q.first = start
			}
			q.last = time.Now()
			q.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// alertmanagerAlert is an Alertmanager webhook notification (version 4) of one firing alert whose
// application is named by its service label.
func alertmanagerAlert(rule, service string, startsAt time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": fmt.Sprintf(`{}:{alertname=%q, service=%q}`, rule, service), "status": "firing",
		"receiver": "vigil", "groupLabels": map[string]string{"alertname": rule},
		"commonLabels": map[string]string{"alertname": rule, "service": service}, "externalURL": "http://alertmanager:9093",
		"alerts": []map[string]any{{
			"status":       "firing",
			"labels":       map[string]string{"alertname": rule, "service": service, "severity": "warning"},
			"annotations":  map[string]string{"summary": "5xx ratio above 2 % for 10 minutes"},
			"startsAt":     startsAt.Format(time.RFC3339),
			"endsAt":       "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus:9090/graph",
			"fingerprint":  "fp-" + service,
		}},
	})
	return b
}

// TestInvestigationAgainstRealPrometheus: a real Prometheus holds a week of generated history in
// which checkout-api and payment-api both regress (5xx from 0.5 % to 3 %, latency ×3, a new error
// group) 15 minutes before an error-rate alert; checkout-api had a deployment, recorded by Vigil,
// that finished 20 minutes before the alert, payment-api had none. The alerts carry no profile:
// checkout-api's comes through a real Alertmanager, payment-api's is posted in Alertmanager's
// webhook format. The first report names the deployment, the error
// ratio with both baselines and the top failing endpoint; the second names the error ratio and
// says it found no deployment in the 6 h it looked at.
func TestInvestigationAgainstRealPrometheus(t *testing.T) {
	promBin, promtool := promBinaries(t)
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Minute)
	alertAt := now.Add(-2 * time.Hour)
	finished := alertAt.Add(-20 * time.Minute)
	planned := finished.Add(-5 * time.Minute)
	om := filepath.Join(dir, "history.om")
	writeAppsHistory(t, om, now.Add(-8*24*time.Hour-time.Hour), now.Add(-time.Hour), alertAt.Add(-15*time.Minute),
		[]string{"checkout-api", "payment-api"}, []string{"catalog-api"})
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
	var queries queryCounter
	promURL := queries.proxy(t, "http://"+addr)

	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = promURL
		c.Alerts.GroupWindow = time.Second
	}))

	// Vigil's own record of checkout-api's deployment, announced late with its finish.
	body := fmt.Sprintf(`{"id":"2026.12.02-3","plannedAt":%q,"version":"2.4.1","applications":[{"id":"a1","name":"checkout-api"}]}`,
		planned.Format(time.RFC3339))
	code, out, _ := post(t, base+"/v1/deployments", []byte(body))
	require.Equal(t, http.StatusAccepted, code, string(out))
	code, out, _ = post(t, base+"/v1/deployments/2026.12.02-3/events", []byte(`{"type":"finished","at":"`+finished.Format(time.RFC3339)+`"}`))
	require.Equal(t, http.StatusAccepted, code, string(out))
	require.Eventually(t, func() bool {
		var st workflows.DeploymentState
		getJSON(t, base+"/v1/deployments/2026.12.02-3", &st)
		return st.Status == "watching" && st.FinishedAt != nil && len(st.Checkpoints) >= 2
	}, 90*time.Second, 200*time.Millisecond, "the deployment's catch-up checkpoints")

	// A real Alertmanager in front of Vigil for the first alert: it groups the alert and posts
	// its own webhook notification.
	amBin := alertmanagerBinary(t)
	amAddr := testenv.FreeAddr(t)
	amCfg := fmt.Sprintf(`route:
  receiver: vigil
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: vigil
    webhook_configs:
      - url: %s/v1/alerts/alertmanager
`, base)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "am.yml"), []byte(amCfg), 0o644))
	amLog, _ := os.Create(filepath.Join(dir, "alertmanager.log"))
	am := exec.Command(amBin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	am.Stdout, am.Stderr = amLog, amLog
	require.NoError(t, am.Start())
	t.Cleanup(func() { _ = am.Process.Kill(); _, _ = am.Process.Wait() })
	require.Eventually(t, ready(amAddr), 30*time.Second, 100*time.Millisecond, "alertmanager did not start")

	type run struct {
		report string
		inv    analyst.Investigation
	}
	investigate := func(service string, viaAlertmanager bool) run {
		t.Helper()
		queries.reset()
		started := time.Now()
		var workflowID string
		if viaAlertmanager {
			alert := fmt.Sprintf(`[{"labels":{"alertname":"HighErrorRate","service":%q,"severity":"warning"},
			  "annotations":{"summary":"5xx ratio above 2 %% for 10 minutes"},"startsAt":%q,"generatorURL":"http://prometheus:9090/graph"}]`,
				service, alertAt.Format(time.RFC3339))
			resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", strings.NewReader(alert))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Eventually(t, func() bool {
				var list struct {
					Incidents []incidentView `json:"incidents"`
				}
				getJSON(t, base+"/v1/incidents?application="+service, &list)
				if len(list.Incidents) == 1 {
					workflowID = list.Incidents[0].WorkflowID
				}
				return workflowID != ""
			}, 60*time.Second, 200*time.Millisecond, "Alertmanager's notification did not become an incident")
		} else {
			code, out, _ := post(t, base+"/v1/alerts/alertmanager", alertmanagerAlert("HighErrorRate", service, alertAt))
			require.Equal(t, http.StatusAccepted, code, string(out))
			var acc struct {
				WorkflowID string `json:"workflowId"`
			}
			require.NoError(t, json.Unmarshal(out, &acc))
			workflowID = acc.WorkflowID
		}
		v := waitIncident(t, base, workflowID)
		require.Equal(t, "completed", v.Status, string(v.Details))
		n, span := queries.snapshot()
		t.Logf("%s: report %.1f s after the alert (group window 1 s); %d Prometheus queries over %s", service,
			time.Since(started).Seconds(), n, span.Round(time.Millisecond))
		var details struct {
			Investigation analyst.Investigation `json:"investigation"`
		}
		require.NoError(t, json.Unmarshal(v.Details, &details))
		t.Logf("%s report:\n%s", service, v.Report)
		return run{report: v.Report, inv: details.Investigation}
	}

	deployed := investigate("checkout-api", true)
	require.Empty(t, deployed.inv.Failed)
	require.Len(t, deployed.inv.Changes, 1)
	require.Equal(t, "2026.12.02-3", deployed.inv.Changes[0].ID)
	summary := strings.SplitN(deployed.report, "\n\n", 2)[0]
	require.Contains(t, summary, "started 20 minutes after deployment 2026.12.02-3 (checkout-api 2.4.1)")
	require.Contains(t, summary, "error ratio 3.0 % vs 0.5 % a day ago and 0.5 % a week ago")
	require.Contains(t, summary, "POST /api/checkout 5xx ×")
	require.Contains(t, summary, "Most likely cause: the deployment 2026.12.02-3")
	require.Contains(t, deployed.report, "top failing endpoint POST /api/checkout")
	require.Contains(t, deployed.report, "new error groups PoolExhaustedException")

	undeployed := investigate("payment-api", false)
	require.Empty(t, undeployed.inv.Failed)
	require.Empty(t, undeployed.inv.Changes)
	summary = strings.SplitN(undeployed.report, "\n\n", 2)[0]
	require.Contains(t, summary, "error ratio 3.0 % vs 0.5 % a day ago and 0.5 % a week ago")
	require.Contains(t, summary, "Vigil recorded no deployment of payment-api in the 6 h before the alert")
	require.NotContains(t, undeployed.report, "2026.12.02-3")

	// The deployment's view links back: the incident of its application that started within its
	// tracking window, not the other application's.
	var view starter.DeploymentView
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/deployments/2026.12.02-3", &view))
	require.Len(t, view.Incidents, 1, "%+v", view.Incidents)
	require.Equal(t, "checkout-api", view.Incidents[0].Application)
	require.Equal(t, "HighErrorRate", view.Incidents[0].Rule)
	require.True(t, view.Incidents[0].StartsAt.Equal(alertAt))
	require.Equal(t, "/v1/incidents/"+view.Incidents[0].WorkflowID, view.Incidents[0].Link)
	require.NotEmpty(t, view.Checkpoints, "the state is still there")
}
