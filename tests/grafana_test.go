package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// TestGrafanaWebhookToReport: Grafana's documented webhook payload (version "1") becomes one
// incident through the real workflow, whose report shows the values Grafana evaluated and its
// links; the resolved notification resolves the incident.
func TestGrafanaWebhookToReport(t *testing.T) {
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Alerts.GroupWindow = time.Second
	}))
	firing, err := os.ReadFile("../starter/testdata/grafana/firing.json")
	require.NoError(t, err)
	code, out, _ := post(t, base+"/v1/alerts/alertmanager", firing)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc struct {
		WorkflowID string `json:"workflowId"`
		Firing     int    `json:"firing"`
	}
	require.NoError(t, json.Unmarshal(out, &acc))
	require.Equal(t, 2, acc.Firing)

	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	t.Logf("report:\n%s", v.Report)
	require.Contains(t, v.Report, "Alert values: B=44.23943737541908, C=1")
	require.Contains(t, v.Report, "Link (source): https://play.grafana.org/alerting/1afz29v7z/edit")
	require.Contains(t, v.Report, "Link (silence): https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1")

	resolved, err := os.ReadFile("../starter/testdata/grafana/resolved.json")
	require.NoError(t, err)
	code, out, _ = post(t, base+"/v1/alerts/alertmanager", resolved)
	require.Equal(t, http.StatusAccepted, code, string(out))
	require.Eventually(t, func() bool {
		var iv incidentView
		getJSON(t, base+"/v1/incidents/"+acc.WorkflowID, &iv)
		return iv.Status == "resolved"
	}, 30*time.Second, 100*time.Millisecond)
}
