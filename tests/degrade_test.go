package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/starter"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// esWire is a local server speaking the part of Elasticsearch's REST API the usage log uses:
// the product header, PUT /_index_template/{name} and POST /_bulk (NDJSON).
type esWire struct {
	mu   sync.Mutex
	docs map[string]json.RawMessage
}

func (e *esWire) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		_, _ = io.WriteString(w, `{"name":"local","cluster_name":"local","version":{"number":"8.19.4"},"tagline":"You Know, for Search"}`)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_index_template/"):
		_, _ = io.WriteString(w, `{"acknowledged":true}`)
	case r.Method == http.MethodPost && r.URL.Path == "/_bulk":
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var items []string
		for sc.Scan() {
			var action map[string]struct {
				ID string `json:"_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &action); err != nil || !sc.Scan() {
				http.Error(w, `{"error":{"type":"parse_exception"}}`, http.StatusBadRequest)
				return
			}
			doc := append(json.RawMessage{}, sc.Bytes()...)
			for _, a := range action {
				e.mu.Lock()
				e.docs[a.ID] = doc
				e.mu.Unlock()
				items = append(items, fmt.Sprintf(`{"index":{"_id":%q,"status":201,"result":"created"}}`, a.ID))
			}
		}
		fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"type":"resource_not_found_exception"}}`)
	}
}

func (e *esWire) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.docs)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDegradeDontDie starts `vigil dev` with every integration pointing at a closed port. It
// starts (at once, with a warning per unreachable integration naming the key to check), writes the
// report of an example alert with the built-in analyst, holds a deployment for missing data,
// names every unreachable integration in /v1/status and /healthz ("degraded", still 200), and
// sends the usage rows it buffered once an Elasticsearch-wire server comes up on its address.
func TestDegradeDontDie(t *testing.T) {
	closed := func() string { return testenv.FreeAddr(t) }
	promAddr, amAddr, esAddr, smtpAddr, slackAddr, hookAddr, llmAddr, twilioAddr, ghAddr, tempoAddr :=
		closed(), closed(), closed(), closed(), closed(), closed(), closed(), closed(), closed(), closed()
	t.Setenv("DEGRADE_TWILIO_TOKEN", "token")
	t.Setenv("DEGRADE_GITHUB_TOKEN", "token")
	cfg := testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = "http://" + promAddr
		c.Alertmanager.URL = "http://" + amAddr
		c.Elasticsearch.URLs = []string{"http://" + esAddr}
		c.Traces.OTLP = []config.OTLPSource{{Name: "tempo", URL: "http://" + tempoAddr + "/api/traces/{traceId}"}}
		c.Notify.Email = config.NotifyEmail{SMTPAddr: smtpAddr, From: "vigil@example.com", To: []string{"oncall@example.com"}}
		c.Notify.Slack.WebhookURL = "http://" + slackAddr + "/hooks/x"
		c.Notify.Webhook.URL = "http://" + hookAddr + "/hook"
		gatewayConfigRPM("http://"+llmAddr+"/v1", 0)(c)
		c.Twilio = config.Twilio{AccountSID: "AC" + strings.Repeat("0", 32), AuthTokenEnv: "DEGRADE_TWILIO_TOKEN",
			From: "+15550000000", BaseURL: "http://" + twilioAddr, Language: "en-US"}
		c.OnCall.Rota = []config.RotaEntry{{Application: "*", People: []config.Person{{Name: "Kim", Phone: "+15551230001"}}}}
		c.CodeTuning.Repository = "acme/shop"
		c.CodeTuning.BaseBranch = "main"
		c.CodeTuning.GitHub = config.GitHubAccess{TokenEnv: "DEGRADE_GITHUB_TOKEN", APIURL: "http://" + ghAddr + "/"}
	})
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	started := time.Now()
	a, err := app.Start(ctx, app.ModeDev, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err, "no optional dependency blocks the start")
	t.Logf("started in %v with every integration down", time.Since(started).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	base := "http://" + a.HTTPAddr()

	// Every integration is named as down, with the key to check.
	want := map[string]string{
		"prometheus": "prometheus.url", "alertmanager": "alertmanager.url", "elasticsearch": "elasticsearch.urls",
		"traces:tempo": "traces.otlp", "notify:email": "notify.email.smtp_addr", "notify:slack": "notify.slack.webhook_url",
		"notify:webhook": "notify.webhook.url", "llm:local": "providers[0].base_url", "twilio": "twilio.base_url",
		"github": "code_tuning.github.api_url",
	}
	var view starter.StatusView
	require.Eventually(t, func() bool {
		view = starter.StatusView{}
		getJSON(t, base+"/v1/status", &view)
		for name := range want {
			if !contains(view.Down, name) {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "status view: %+v", view)
	require.Equal(t, "degraded", view.Status)
	for _, d := range view.Dependencies {
		if key, ok := want[d.Name]; ok {
			require.Equal(t, key, d.ConfigKey, d.Name)
			require.NotEmpty(t, d.LastError, d.Name)
			require.NotNil(t, d.LastFailure, d.Name)
		}
	}
	for name, key := range want {
		require.Contains(t, logs.String(), "dependency="+name+" check="+key, "a start-up warning names %s and %s", name, key)
	}
	var health map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, base+"/healthz", &health), "liveness does not fail for integrations")
	require.Equal(t, "degraded", health["status"])
	require.Contains(t, fmt.Sprint(health["down"]), "prometheus")

	// The example alert gets its report from the built-in analyst.
	body, ok := profile.Example("slow-sql")
	require.True(t, ok)
	code, out, _ := post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	_, err = analyst.ParseReport(v.Report)
	require.NoError(t, err, v.Report)

	// A deployment is held: Prometheus cannot be read, so the pre-check has no data.
	planned := time.Now().UTC().Add(20 * time.Minute)
	code, out, _ = post(t, base+"/v1/deployments", []byte(fmt.Sprintf(`{"id":"rel-down","plannedAt":%q,"applications":[{"id":1,"name":"checkout-api"}]}`,
		planned.Format(time.RFC3339))))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var st workflows.DeploymentState
	require.Eventually(t, func() bool {
		st = workflows.DeploymentState{}
		getJSON(t, base+"/v1/deployments/rel-down", &st)
		return st.Gate.Decision != workflows.GatePending
	}, 90*time.Second, 200*time.Millisecond)
	require.Equal(t, workflows.GateHold, st.Gate.Decision)
	require.Contains(t, strings.Join(st.Gate.Reasons, " "), "Prometheus could not be read (check prometheus.url)")

	// Elasticsearch comes up on its address: the usage rows buffered meanwhile arrive.
	es := &esWire{docs: map[string]json.RawMessage{}}
	l, err := net.Listen("tcp", esAddr)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(es)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	require.Eventually(t, func() bool { return es.count() > 0 }, 60*time.Second, 200*time.Millisecond,
		"the buffered usage rows reach Elasticsearch")
	require.Eventually(t, func() bool {
		view = starter.StatusView{}
		getJSON(t, base+"/v1/status", &view)
		return !contains(view.Down, "elasticsearch")
	}, 30*time.Second, 200*time.Millisecond)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
