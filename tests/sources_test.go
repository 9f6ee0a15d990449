package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/starter"
	"github.com/vigil-ops/vigil/tests/testenv"
)

func postSource(t *testing.T, url string, body []byte, headers map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestSentryToReport: Sentry's documented issue alert, signed with the integration's client
// secret, becomes an incident and a report through the real workflow; Sentry's resolved issue
// webhook resolves it; a wrong signature is refused.
func TestSentryToReport(t *testing.T) {
	t.Setenv("VIGIL_TEST_SENTRY_SECRET", "sentry-secret-e2e")
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Alerts.GroupWindow = time.Second
		c.Alerts.Sources.Sentry.ClientSecretEnv = "VIGIL_TEST_SENTRY_SECRET"
	}))
	secret := []byte("sentry-secret-e2e")
	body, err := os.ReadFile("../starter/testdata/sentry/issue-alert.json")
	require.NoError(t, err)

	code, out := postSource(t, base+"/v1/alerts/sentry", body, map[string]string{
		"Sentry-Hook-Resource": "event_alert", "Sentry-Hook-Signature": starter.SignSentry([]byte("wrong"), body)})
	require.Equal(t, http.StatusUnauthorized, code, string(out))

	code, out = postSource(t, base+"/v1/alerts/sentry", body, map[string]string{
		"Sentry-Hook-Resource": "event_alert", "Sentry-Hook-Signature": starter.SignSentry(secret, body)})
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc struct {
		WorkflowID string `json:"workflowId"`
	}
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	t.Logf("report:\n%s", v.Report)
	require.Contains(t, v.Report, "Very Important Alert Rule!")
	require.Contains(t, v.Report, "front-end")
	require.Contains(t, v.Report, "Link (event): https://sentry.io/organizations/test-org/issues/1117540176/events/bbd2ba7bcc2f4935b4e8e2e1bb5bd6d6/")

	resolved, err := os.ReadFile("../starter/testdata/sentry/issue-resolved.json")
	require.NoError(t, err)
	code, out = postSource(t, base+"/v1/alerts/sentry", resolved, map[string]string{
		"Sentry-Hook-Resource": "issue", "Sentry-Hook-Signature": starter.SignSentry(secret, resolved)})
	require.Equal(t, http.StatusAccepted, code, string(out))
	require.Eventually(t, func() bool {
		var iv incidentView
		getJSON(t, base+"/v1/incidents/"+acc.WorkflowID, &iv)
		return iv.Status == "resolved"
	}, 30*time.Second, 100*time.Millisecond)
}

// TestDatadogAndKibanaToReport: a Datadog monitor notification and a Kibana rule action, each
// with its source's token, become incidents and reports through the real workflow (the
// Kibana value and the links shown), and their recoveries resolve them.
func TestDatadogAndKibanaToReport(t *testing.T) {
	t.Setenv("VIGIL_TEST_DD_TOKEN", "dd-e2e")
	t.Setenv("VIGIL_TEST_KB_TOKEN", "kb-e2e")
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Alerts.GroupWindow = time.Second
		c.Alerts.Sources.Datadog.TokenEnv = "VIGIL_TEST_DD_TOKEN"
		c.Alerts.Sources.Kibana.TokenEnv = "VIGIL_TEST_KB_TOKEN"
	}))
	for _, c := range []struct{ source, token, firing, resolved, want string }{
		{"datadog", "dd-e2e", "datadog/triggered.json", "datadog/recovered.json", "Link (event): https://app.datadoghq.com/event/event?id=7261434873456012345"},
		{"kibana", "kb-e2e", "kibana/active.json", "kibana/recovered.json", "Alert values: value=1204"},
	} {
		body, err := os.ReadFile("../starter/testdata/" + c.firing)
		require.NoError(t, err)
		code, out := postSource(t, base+"/v1/alerts/"+c.source, body, map[string]string{"Authorization": "Bearer wrong"})
		require.Equal(t, http.StatusUnauthorized, code, string(out))
		code, out = postSource(t, base+"/v1/alerts/"+c.source, body, map[string]string{"Authorization": "Bearer " + c.token})
		require.Equal(t, http.StatusAccepted, code, string(out))
		var acc struct {
			WorkflowID string `json:"workflowId"`
		}
		require.NoError(t, json.Unmarshal(out, &acc))
		v := waitIncident(t, base, acc.WorkflowID)
		require.Equal(t, "completed", v.Status, string(v.Details))
		t.Logf("%s report:\n%s", c.source, v.Report)
		require.Contains(t, v.Report, c.want)

		resolved, err := os.ReadFile("../starter/testdata/" + c.resolved)
		require.NoError(t, err)
		code, out = postSource(t, base+"/v1/alerts/"+c.source, resolved, map[string]string{"Authorization": "Bearer " + c.token})
		require.Equal(t, http.StatusAccepted, code, string(out))
		require.Eventually(t, func() bool {
			var iv incidentView
			getJSON(t, base+"/v1/incidents/"+acc.WorkflowID, &iv)
			return iv.Status == "resolved"
		}, 30*time.Second, 100*time.Millisecond, c.source)
	}
}

func genericSources(t *testing.T) []config.GenericSource {
	t.Helper()
	b, err := os.ReadFile("../alertmap/testdata/sources.yaml")
	require.NoError(t, err)
	c, err := config.Parse("sources.yaml", b, nil)
	require.NoError(t, err)
	return c.Alerts.Sources.Generic
}

// TestGenericSourceToReport: a CloudWatch alarm through SNS, mapped by the CEL mapping of the
// configuration, becomes an incident and a report through the real workflow, and the OK
// notification resolves it.
func TestGenericSourceToReport(t *testing.T) {
	for _, k := range []string{"VIGIL_CW_TOKEN", "VIGIL_KUMA_TOKEN", "VIGIL_SCRIPT_TOKEN"} {
		t.Setenv(k, "tok-"+k)
	}
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Alerts.GroupWindow = time.Second
		c.Alerts.Sources.Generic = genericSources(t)
	}))
	body, err := os.ReadFile("../alertmap/testdata/cloudwatch-alarm.json")
	require.NoError(t, err)
	auth := map[string]string{"Authorization": "Bearer tok-VIGIL_CW_TOKEN"}
	code, out := postSource(t, base+"/v1/alerts/cloudwatch", body, auth)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc struct {
		WorkflowID string `json:"workflowId"`
	}
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	t.Logf("report:\n%s", v.Report)
	require.Contains(t, v.Report, "checkout-api-5xx")
	require.Contains(t, v.Report, "Application: checkout-api")
	require.Contains(t, v.Report, "Alert values: threshold=5")
	require.Contains(t, v.Report, "Link (alarm): https://console.aws.amazon.com/cloudwatch/home#alarmsV2:alarm/checkout-api-5xx")

	ok, err := os.ReadFile("../alertmap/testdata/cloudwatch-ok.json")
	require.NoError(t, err)
	code, out = postSource(t, base+"/v1/alerts/cloudwatch", ok, auth)
	require.Equal(t, http.StatusAccepted, code, string(out))
	require.Eventually(t, func() bool {
		var iv incidentView
		getJSON(t, base+"/v1/incidents/"+acc.WorkflowID, &iv)
		return iv.Status == "resolved"
	}, 30*time.Second, 100*time.Millisecond)
}

// TestAlertMapCLI: `vigil alert map --source NAME < body.json` prints the mapped alert, or each
// field at fault, and `vigil config check` names a broken expression with file and line.
func TestAlertMapCLI(t *testing.T) {
	bin := testenv.BuildVigil(t)
	cfg := "../alertmap/testdata/sources.yaml"
	run := func(stdin []byte, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = bytes.NewReader(stdin)
		cmd.Env = append(os.Environ(), "VIGIL_CW_TOKEN=x", "VIGIL_KUMA_TOKEN=x", "VIGIL_SCRIPT_TOKEN=x")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	body, err := os.ReadFile("../alertmap/testdata/uptime-kuma-down.json")
	require.NoError(t, err)
	out, err := run(body, "alert", "map", "--source", "uptime-kuma", "--config", cfg)
	require.NoError(t, err, out)
	require.Contains(t, out, `"rule": "Monitor down: checkout-api health"`)
	require.Contains(t, out, `"fingerprint": "uptime-kuma-7"`)
	require.Contains(t, out, `"resolved": false`)

	out, err = run([]byte(`{"check":"disk_usage","host":"db-1","service":"orders-db","level":"sev1","at":"soon","runbook":"https://w/x","used_percent":1}`),
		"alert", "map", "--source", "disk-script", "--config", cfg)
	require.Error(t, err)
	require.Contains(t, out, "alerts.sources.generic disk-script message: no such key: details")
	require.Contains(t, out, `alerts.sources.generic disk-script starts_at: "soon" is not an RFC 3339 time`)

	bad := filepath.Join(t.TempDir(), "vigil.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("alerts:\n  sources:\n    generic:\n      - name: s\n        token_env: X\n        rule: 'body.a +'\n        message: '\"m\"'\n        application: '\"a\"'\n"), 0o600))
	out, err = run(nil, "config", "check", "--config", bad)
	require.Error(t, err)
	require.Contains(t, out, "vigil.yaml:6: alerts.sources.generic[0].rule: CEL: ERROR:")
}
