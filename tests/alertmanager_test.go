package tests

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

func amPayload(status string, alerts ...string) []byte {
	var items []map[string]any
	for _, a := range alerts {
		items = append(items, map[string]any{
			"status":       status,
			"labels":       map[string]string{"alertname": "HighErrorRate", "application": "checkout-api", "instance": a, "severity": "critical"},
			"annotations":  map[string]string{"summary": "5xx ratio above 5% on " + a},
			"startsAt":     "2026-11-26T09:00:00Z",
			"endsAt":       "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus:9090/graph",
			"fingerprint":  "fp-" + a,
		})
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": `{}:{alertname="HighErrorRate", application="checkout-api"}`, "status": status,
		"receiver": "vigil", "groupLabels": map[string]string{"alertname": "HighErrorRate"},
		"commonLabels": map[string]string{"alertname": "HighErrorRate"}, "externalURL": "http://alertmanager:9093",
		"alerts": items,
	})
	return b
}

// TestAlertmanagerGroupBecomesOneIncident posts an Alertmanager group, a resend and a later
// notification of the same group, then the resolution: one incident, one report, resolved.
func TestAlertmanagerGroupBecomesOneIncident(t *testing.T) {
	a, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Alerts.GroupWindow = time.Second
	}))
	post1 := amPayload("firing", "pod-a", "pod-b")
	code, out, _ := post(t, base+"/v1/alerts/alertmanager", post1)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc struct {
		WorkflowID string `json:"workflowId"`
		Firing     int    `json:"firing"`
	}
	require.NoError(t, json.Unmarshal(out, &acc))
	require.Equal(t, 2, acc.Firing)
	code, _, _ = post(t, base+"/v1/alerts/alertmanager", post1) // Alertmanager resends
	require.Equal(t, http.StatusAccepted, code)
	code, _, _ = post(t, base+"/v1/alerts/alertmanager", amPayload("firing", "pod-c"))
	require.Equal(t, http.StatusAccepted, code)

	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	calls, err := a.Store.ListLLMCalls(t.Context(), storeFilter(acc.WorkflowID))
	require.NoError(t, err)
	require.Len(t, calls, 1, "one report for the group")

	code, out, _ = post(t, base+"/v1/alerts/alertmanager", amPayload("resolved", "pod-a", "pod-b", "pod-c"))
	require.Equal(t, http.StatusAccepted, code, string(out))
	require.Eventually(t, func() bool {
		var iv incidentView
		getJSON(t, base+"/v1/incidents/"+acc.WorkflowID, &iv)
		return iv.Status == "resolved"
	}, 30*time.Second, 100*time.Millisecond)
	var iv incidentView
	getJSON(t, base+"/v1/incidents/"+acc.WorkflowID, &iv)
	var details struct {
		Group []struct {
			Instance string `json:"instance"`
			Status   string `json:"status"`
		} `json:"group"`
	}
	require.NoError(t, json.Unmarshal(iv.Details, &details))
	require.Len(t, details.Group, 3, "three distinct alerts, the resend folded")

	var list struct {
		Incidents []incidentView `json:"incidents"`
	}
	getJSON(t, base+"/v1/incidents", &list)
	require.Len(t, list.Incidents, 1)

	// A resolution for a group without an open incident starts nothing.
	code, out, _ = post(t, base+"/v1/alerts/alertmanager", []byte(`{"version":"4","groupKey":"other","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"X"},"startsAt":"2026-11-26T09:00:00Z","fingerprint":"fp-x"}]}`))
	require.Equal(t, http.StatusAccepted, code, string(out))
	require.Contains(t, string(out), "no-incident")
}

func TestAlertmanagerBadPayload(t *testing.T) {
	_, base := testenv.StartDev(t, testenv.DevConfig(t, nil))
	code, out, _ := post(t, base+"/v1/alerts/alertmanager", []byte(`{"version":"4","groupKey":"g","alerts":[{"status":"firing","labels":{"alertname":"X","application":"a"},"fingerprint":"f"}]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, string(out))
	require.Contains(t, string(out), `"field":"alerts[0].startsAt"`)
	code, out, _ = post(t, base+"/v1/alerts/alertmanager", []byte(`{"version":"3","alerts":[]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, string(out))
	require.Contains(t, string(out), `"field":"version"`)
	require.Contains(t, string(out), `"field":"groupKey"`)
}
