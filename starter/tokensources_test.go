package starter

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/workflows"
)

func tokenPost(h http.Handler, source, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/alerts/"+source, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return serve(h, req)
}

// A Datadog monitor group fires and recovers as one alert of the monitor's incident.
func TestDatadogMonitor(t *testing.T) {
	tc := &fakeTemporal{}
	h := sourcesAPI(tc)
	rec := tokenPost(h, "datadog", "dd-token", fixture(t, "datadog/triggered.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	in := tc.inputs[0].(workflows.IncidentInput)
	al := in.Alert
	require.Equal(t, "High CPU on checkout-api", al.Rule, "the status prefix is not part of the rule")
	require.True(t, strings.HasPrefix(al.Message, "[P2] [Triggered on {host:web-01}] High CPU on checkout-api\nCPU usage is above 90%"))
	require.Equal(t, "checkout-api", al.Application)
	require.Equal(t, "web-01", al.Instance)
	require.Equal(t, "critical", al.Severity)
	require.True(t, al.StartsAt.Equal(time.UnixMilli(1764668400000)))
	require.Equal(t, "payments", al.Labels["datadog_team"])
	require.Equal(t, []profile.Link{
		{Name: "event", URL: "https://app.datadoghq.com/event/event?id=7261434873456012345"},
		{Name: "image", URL: "https://p.datadoghq.com/snapshot/view/dd-snapshots-prod/org_123/2026-12-02/abc123.png"},
	}, al.Links)
	require.Equal(t, "monitor:12345678", in.GroupKey)

	rec = tokenPost(h, "datadog", "dd-token", fixture(t, "datadog/triggered.json")) // a renotification
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, al.Fingerprint, tc.inputs[1].(workflows.IncidentInput).Alert.Fingerprint)

	rec = tokenPost(h, "datadog", "dd-token", fixture(t, "datadog/recovered.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), GroupIncidentID("source:datadog", "monitor:12345678"))
	sig := tc.signalled[len(tc.signalled)-1].(workflows.AlertsSignal)
	require.Equal(t, []string{al.Fingerprint}, sig.Resolved)

	// Warn is a warning; another scope of the monitor is another alert of the same incident.
	warn := strings.Replace(strings.Replace(fixture(t, "datadog/triggered.json"), `"transition": "Triggered"`, `"transition": "Warn"`, 1), `"scope": "host:web-01"`, `"scope": "host:web-02"`, 1)
	rec = tokenPost(h, "datadog", "dd-token", warn)
	require.Equal(t, http.StatusAccepted, rec.Code)
	w := tc.inputs[len(tc.inputs)-1].(workflows.IncidentInput).Alert
	require.Equal(t, "warning", w.Severity)
	require.NotEqual(t, al.Fingerprint, w.Fingerprint)
}

// A Kibana rule's alert fires with its reason, value and links, and recovers.
func TestKibanaRule(t *testing.T) {
	tc := &fakeTemporal{}
	h := sourcesAPI(tc)
	rec := tokenPost(h, "kibana", "kb-token", fixture(t, "kibana/active.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	in := tc.inputs[0].(workflows.IncidentInput)
	al := in.Alert
	require.Equal(t, "Checkout latency threshold", al.Rule)
	require.True(t, strings.HasPrefix(al.Message, "Avg. latency is 1,204 ms"))
	require.Equal(t, "checkout-api", al.Application)
	require.Equal(t, "", al.Instance)
	require.Equal(t, "warning", al.Severity)
	require.Equal(t, map[string]float64{"value": 1204}, al.Values)
	require.True(t, al.StartsAt.Equal(time.Date(2026, 12, 2, 9, 0, 5, 123000000, time.UTC)))
	require.Equal(t, "production", al.Labels["environment"])
	require.Equal(t, "https://kibana.example.com/app/observability/alerts/b7d1c2e3-4f56-4a78-9b0c-1d2e3f405162", al.Links[0].URL)
	require.Equal(t, "rule:default:0f4d2c7e-5a3b-4d6e-9f1a-2b3c4d5e6f70", in.GroupKey)

	rec = tokenPost(h, "kibana", "kb-token", fixture(t, "kibana/recovered.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	sig := tc.signalled[len(tc.signalled)-1].(workflows.AlertsSignal)
	require.Equal(t, []string{al.Fingerprint}, sig.Resolved)

	crit := strings.Replace(fixture(t, "kibana/active.json"), `"host": ""`, `"host": "", "severity": "critical"`, 1)
	rec = tokenPost(h, "kibana", "kb-token", crit)
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, "critical", tc.inputs[len(tc.inputs)-1].(workflows.IncidentInput).Alert.Severity)
}

// Token sources refuse a missing or wrong token, and another source's token, with a 401 that
// names no token; bad bodies are 4xx naming the field.
func TestTokenSourceRefusals(t *testing.T) {
	tc := &fakeTemporal{}
	h := sourcesAPI(tc)
	for _, c := range []struct{ source, token, body string }{
		{"datadog", "", fixture(t, "datadog/triggered.json")},
		{"datadog", "wrong", fixture(t, "datadog/triggered.json")},
		{"datadog", "kb-token", fixture(t, "datadog/triggered.json")},
		{"kibana", "dd-token", fixture(t, "kibana/active.json")},
	} {
		rec := tokenPost(h, c.source, c.token, c.body)
		require.Equal(t, http.StatusUnauthorized, rec.Code, c.source+" "+c.token)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		require.NotContains(t, rec.Body.String(), "dd-token")
		require.NotContains(t, rec.Body.String(), "kb-token")
	}
	require.Zero(t, tc.signals)

	for _, c := range []struct{ source, token, body, field string }{
		{"datadog", "dd-token", strings.Replace(fixture(t, "datadog/triggered.json"), `"alert_id": "12345678"`, `"alert_id": ""`, 1), "alert_id"},
		{"datadog", "dd-token", strings.Replace(fixture(t, "datadog/triggered.json"), `"date": "1764668400000"`, `"date": "$DATE"`, 1), "date"},
		{"datadog", "dd-token", strings.Replace(fixture(t, "datadog/triggered.json"), `"hostname": "web-01"`, `"hostname": "`+strings.Repeat("h", 300)+`"`, 1), "hostname"},
		{"kibana", "kb-token", strings.Replace(fixture(t, "kibana/active.json"), `"rule_name": "Checkout latency threshold"`, `"rule_name": ""`, 1), "rule_name"},
		{"kibana", "kb-token", strings.Replace(fixture(t, "kibana/active.json"), `"date": "2026-12-02T09:00:05.123Z"`, `"date": "{{date}}"`, 1), "date"},
		{"kibana", "kb-token", strings.Replace(fixture(t, "kibana/active.json"), `"rule_tags": "service:checkout-api,team:payments"`, `"rule_tags": ["a"]`, 1), "rule_tags"},
		{"kibana", "kb-token", strings.Replace(fixture(t, "kibana/active.json"), `"host": ""`, `"host": "", "severity": "sev1"`, 1), "severity"},
	} {
		rec := tokenPost(h, c.source, c.token, c.body)
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), `"field":"`+c.field+`"`, rec.Body.String())
	}
}
