package tests

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// TestAlertWithTraceIDFetchesTheProfile: an APM alert that carries only a trace ID gets its
// profile from an OTLP-JSON trace API (Grafana Tempo's shape), and the report names the slow
// table found in that trace.
func TestAlertWithTraceIDFetchesTheProfile(t *testing.T) {
	trace, err := os.ReadFile(filepath.Join("..", "tracesource", "testdata", "tempo-trace.json"))
	require.NoError(t, err)
	var asked []string
	tempo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		if !strings.HasSuffix(r.URL.Path, "/4bf92f3577b34da6a3ce929d0e0e4736") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(trace)
	}))
	t.Cleanup(tempo.Close)
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Traces.OTLP = []config.OTLPSource{{Name: "tempo", URL: tempo.URL + "/api/traces/{traceId}"}}
	}))
	alert := `{"rule":"SlowTransaction","message":"checkout p95 above 5 s","severity":"critical","application":"checkout-api",
	  "instance":"pod-1","startsAt":"2026-11-26T09:00:00Z","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}`
	code, out, _ := post(t, base+"/v1/alerts/apm", []byte(alert))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	require.Equal(t, []string{"/api/traces/4bf92f3577b34da6a3ce929d0e0e4736"}, asked)
	rep, err := analyst.ParseReport(v.Report)
	require.NoError(t, err)
	require.NotEmpty(t, rep.Analysis)
	require.Contains(t, v.Report, "orders", "the slow table of the fetched trace")
}
