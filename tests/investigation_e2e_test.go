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
// checkoutTraceID is the exemplar of checkout-api's failing requests; its trace spends 4.1 s of
// 4.3 s in a call to the payment partner that times out.
const checkoutTraceID = "5a1c0ffee0ddba11deadbeefcafe0042"

// checkoutTrace is that trace in the OTLP-JSON form of Tempo's /api/traces/{id}.
func checkoutTrace() []byte {
	const t0 = int64(1764644400000000000)
	ns := func(ms int64) string { return fmt.Sprint(t0 + ms*1_000_000) }
	str := func(k, v string) map[string]any {
		return map[string]any{"key": k, "value": map[string]any{"stringValue": v}}
	}
	num := func(k string, v int) map[string]any {
		return map[string]any{"key": k, "value": map[string]any{"intValue": fmt.Sprint(v)}}
	}
	timeout := func(ms int64) []any {
		return []any{map[string]any{"timeUnixNano": ns(ms), "name": "exception", "attributes": []any{
			str("exception.type", "java.net.SocketTimeoutException"),
			str("exception.message", "Read timed out calling pay.partner.example.com"),
			str("exception.stacktrace", "java.net.SocketTimeoutException: Read timed out\n\tat com.shop.payment.PayClient.charge(PayClient.java:88)"),
		}}}
	}
	b, _ := json.Marshal(map[string]any{"resourceSpans": []any{map[string]any{
		"resource": map[string]any{"attributes": []any{str("service.name", "checkout-api"), str("service.instance.id", "checkout-api-7d9f6b-x2k4p")}},
		"scopeSpans": []any{map[string]any{"scope": map[string]any{"name": "io.opentelemetry.tomcat-10.0"}, "spans": []any{
			map[string]any{"traceId": checkoutTraceID, "spanId": "00f067aa0ba90201", "name": "POST /api/checkout", "kind": "SPAN_KIND_SERVER",
				"startTimeUnixNano": ns(0), "endTimeUnixNano": ns(4300), "attributes": []any{str("http.request.method", "POST"),
					str("url.path", "/api/checkout"), str("http.route", "/api/checkout"), num("http.response.status_code", 504)},
				"status": map[string]any{"code": "STATUS_CODE_ERROR", "message": "payment timed out"}, "events": timeout(4290)},
			map[string]any{"traceId": checkoutTraceID, "spanId": "00f067aa0ba90202", "parentSpanId": "00f067aa0ba90201", "name": "SELECT shop.orders",
				"kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": ns(20), "endTimeUnixNano": ns(80), "attributes": []any{str("db.system", "postgresql"),
					str("db.namespace", "shop"), str("db.query.text", "SELECT o.id, o.total FROM orders o WHERE o.id = ?"), str("server.address", "orders-db.internal")}},
			map[string]any{"traceId": checkoutTraceID, "spanId": "00f067aa0ba90203", "parentSpanId": "00f067aa0ba90201", "name": "POST",
				"kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": ns(150), "endTimeUnixNano": ns(4250), "attributes": []any{str("http.request.method", "POST"),
					str("url.full", "https://pay.partner.example.com/v1/charges"), str("server.address", "pay.partner.example.com"), num("server.port", 443)},
				"status": map[string]any{"code": "STATUS_CODE_ERROR", "message": "Read timed out"}, "events": timeout(4250)},
		}}},
	}}})
	return b
}

// TestInvestigationAgainstRealPrometheus is the investigation with every part at once. A real
// Prometheus (exemplar storage on) holds a week of history backfilled with promtool (a running
// Prometheus cannot take old samples through a scrape) in which checkout-api and payment-api both
// regress (5xx from 0.5 % to 3 %, latency ×3, a new error group) 25 minutes before an error-rate
// alert, and scrapes a small instrumented server for the minutes since, whose checkout-api
// failures carry the exemplar of a trace a local OTLP-JSON trace API serves. checkout-api had a
// deployment, recorded by Vigil, that finished 28 minutes before the alert; payment-api had none
// and its series carry no exemplars. The alerts carry no profile: checkout-api's comes through a
// real Alertmanager, payment-api's is posted in Alertmanager's webhook format. The first report
// names the deployment, the error ratio with both baselines, the top failing endpoint and the
// exemplar trace's slow span; the second names the error ratio and says what it looked for (no
// deployment in 6 h, no exemplar).
func TestInvestigationAgainstRealPrometheus(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Minute)
	alertAt := now.Add(-time.Minute)
	finished := alertAt.Add(-28 * time.Minute)
	om := filepath.Join(dir, "history.om")
	writeAppsHistory(t, om, now.Add(-8*24*time.Hour-time.Hour), now, alertAt.Add(-25*time.Minute),
		[]string{"checkout-api", "payment-api"}, []string{"catalog-api"})
	target := startInstrumented(t,
		instrumentedApp{Service: "checkout-api", Route: "/api/checkout", TraceID: checkoutTraceID, Seconds: 4.3},
		instrumentedApp{Service: "payment-api", Route: "/api/checkout"})
	addr := startPrometheus(t, dir, promOptions{History: om, Scrape: []string{target}})
	waitExemplars(t, addr)
	var queries queryCounter
	promURL := queries.proxy(t, "http://"+addr)
	tempo := traceAPI(t, map[string][]byte{checkoutTraceID: checkoutTrace()})

	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = promURL
		c.Alerts.GroupWindow = time.Second
		c.Traces.OTLP = []config.OTLPSource{{Name: "tempo", URL: tempo}}
	}))

	// Vigil's own record of checkout-api's deployment, announced late with its finish.
	announceFinished(t, base, "2026.12.02-3", "2.4.1", "checkout-api", finished)
	waitCaughtUp(t, base, "2026.12.02-3")

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
	require.Contains(t, summary, "started 28 minutes after deployment 2026.12.02-3 (checkout-api 2.4.1)")
	require.Contains(t, summary, "error ratio 3.0 % vs 0.5 % a day ago and 0.5 % a week ago")
	require.Contains(t, summary, "POST /api/checkout 5xx ×")
	require.Contains(t, summary, "Most likely cause: the deployment 2026.12.02-3")
	require.Contains(t, deployed.report, "top failing endpoint POST /api/checkout")
	require.Contains(t, deployed.report, "new error groups PoolExhaustedException")
	// The exemplar of a failing request led to its trace: the slow span is the call that timed out.
	require.NotNil(t, deployed.inv.Trace)
	require.Equal(t, checkoutTraceID, deployed.inv.Trace.TraceID, deployed.inv.Trace.Note)
	require.True(t, deployed.inv.Trace.Failing)
	require.Contains(t, summary, "the failing trace 5a1c0ffe (POST /api/checkout)")
	require.Contains(t, summary, "pay.partner.example.com")
	require.Contains(t, summary, "4,100 ms")

	undeployed := investigate("payment-api", false)
	require.Empty(t, undeployed.inv.Failed)
	require.Empty(t, undeployed.inv.Changes)
	summary = strings.SplitN(undeployed.report, "\n\n", 2)[0]
	require.Contains(t, summary, "error ratio 3.0 % vs 0.5 % a day ago and 0.5 % a week ago")
	require.Contains(t, summary, "Vigil recorded no deployment of payment-api in the 6 h before the alert")
	require.Contains(t, undeployed.report, "Exemplar trace: the latency series of payment-api carry no exemplars in the window")
	require.NotContains(t, undeployed.report, "2026.12.02-3")
	require.NotContains(t, undeployed.report, "5a1c0ffe")

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
