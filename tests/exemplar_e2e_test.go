package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// TestInvestigationFollowsAnExemplarTrace: a real Prometheus (exemplar storage on) scrapes a small
// instrumented server whose failing requests carry exemplars; an Alertmanager-format alert for the
// application, which has no profile, no deployment and no history to compare with, gets a report
// that names the failing trace's slow step, fetched from a local OTLP-JSON trace API.
func TestInvestigationFollowsAnExemplarTrace(t *testing.T) {
	dir := t.TempDir()
	target := startInstrumented(t, instrumentedApp{Service: "shop-api", Route: "/api/checkout", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Seconds: 4.1})
	addr := startPrometheus(t, dir, promOptions{Scrape: []string{target}})
	waitExemplars(t, addr)

	trace, err := os.ReadFile(filepath.Join("..", "tracesource", "testdata", "tempo-trace.json"))
	require.NoError(t, err)
	tempo := traceAPI(t, map[string][]byte{"4bf92f3577b34da6a3ce929d0e0e4736": trace})
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = "http://" + addr
		c.Alerts.GroupWindow = time.Second
		c.Traces.OTLP = []config.OTLPSource{{Name: "tempo", URL: tempo}}
	}))
	code, out, _ := post(t, base+"/v1/alerts/alertmanager", alertmanagerAlert("HighErrorRate", "shop-api", time.Now().Add(-time.Minute).UTC().Truncate(time.Second)))
	require.Equal(t, 202, code, string(out))
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
