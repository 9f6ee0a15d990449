package starter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/workflows"
)

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func apmAlert(t *testing.T, mutate func(map[string]any)) string {
	t.Helper()
	raw, ok := profile.Example("slow-sql")
	require.True(t, ok)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	mutate(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func amBody(alertname, application string) string {
	return `{"version":"4","groupKey":"{}:{alertname=\"X\"}","status":"firing","commonLabels":{"application":"` + application + `"},
	  "alerts":[{"status":"firing","labels":{"alertname":"` + alertname + `","severity":"critical"},"annotations":{"summary":"s"},
	  "startsAt":"2026-01-02T03:04:05Z","fingerprint":"fp1"}]}`
}

// Values that become search attributes, workflow-ID parts or labels are bounded up front: a
// long one is a 422 naming the field, never a 202 whose workflow Temporal then terminates, nor
// a retryable 503.
func TestLongNamesAreRefusedUpFront(t *testing.T) {
	long := strings.Repeat("n", 3000)
	apps := func(n int, name func(int) string) string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf(`{"id":"a%d","name":%q}`, i, name(i)))
		}
		return `{"id":"dep-1","plannedAt":"2026-01-02T03:04:05Z","applications":[` + strings.Join(out, ",") + `]}`
	}
	cases := []struct {
		name, path, body, field string
	}{
		{"deployment application name", "/v1/deployments", apps(1, func(int) string { return long }), "applications[0].name"},
		{"deployment application id", "/v1/deployments", `{"id":"d","plannedAt":"2026-01-02T03:04:05Z","applications":[{"id":"` + long + `","name":"a"}]}`, "applications[0].id"},
		{"deployment id", "/v1/deployments", `{"id":"` + long + `","plannedAt":"2026-01-02T03:04:05Z","applications":[{"id":"a","name":"a"}]}`, "id"},
		{"too many applications", "/v1/deployments", apps(MaxDeploymentApplications+1, func(i int) string { return fmt.Sprint("app-", i) }), "applications"},
		{"names over one search attribute", "/v1/deployments", apps(10, func(i int) string { return fmt.Sprint(i, strings.Repeat("x", 250)) }), "applications"},
		{"apm rule", "/v1/alerts/apm", apmAlert(t, func(m map[string]any) { m["rule"] = long }), "rule"},
		{"apm application", "/v1/alerts/apm", apmAlert(t, func(m map[string]any) { m["application"] = long }), "application"},
		{"alertmanager alertname", "/v1/alerts/alertmanager", amBody(long, "shop"), "alerts[0].labels.alertname"},
		{"alertmanager common application", "/v1/alerts/alertmanager", amBody("X", long), "commonLabels.application"},
		{"grafana folder", "/v1/alerts/alertmanager", `{"version":"1","groupKey":"g","status":"firing","alerts":[{"status":"firing",
		  "labels":{"alertname":"A","grafana_folder":"` + long + `"},"startsAt":"2026-01-02T03:04:05Z","fingerprint":"f1"}]}`, "alerts[0].labels.grafana_folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := &fakeTemporal{}
			h := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
			rec := do(h, http.MethodPost, c.path, c.body)
			require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			require.Contains(t, rec.Body.String(), `"field":"`+c.field+`"`)
			require.Zero(t, tc.starts+tc.signals, "nothing reached Temporal")
		})
	}
}

// Data after the JSON value is a 400, on every decoder.
func TestTrailingDataIsRefused(t *testing.T) {
	h := (&API{Temporal: &fakeTemporal{}, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
	for path, body := range map[string]string{
		"/v1/deployments":          `{"id":"d","plannedAt":"2026-01-02T03:04:05Z","applications":[{"id":"a","name":"a"}]} {"id":"other"}`,
		"/v1/alerts/alertmanager":  amBody("X", "shop") + `garbage`,
		"/v1/alerts/apm":           apmAlert(t, func(map[string]any) {}) + `]`,
		"/v1/deployments/d/events": `{"type":"finished"}{}`,
	} {
		rec := do(h, http.MethodPost, path, body)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", path, rec.Body.String())
		require.Contains(t, rec.Body.String(), "after", path)
	}
}

// stormBody is an Alertmanager notification of n firing alerts of one group, as compact as
// Alertmanager writes them.
func stormBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"version":"4","groupKey":"{}:{alertname=\"NodeDown\"}","status":"firing","receiver":"vigil",` +
		`"commonLabels":{"alertname":"NodeDown","application":"fleet","severity":"warning"},"alerts":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","labels":{"instance":"n%d"},"startsAt":"2026-01-02T03:04:05Z","fingerprint":"%016x"}`, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// A 6,700-alert notification is one signal to one incident (its time is measured by
// BenchmarkAlertmanagerStorm, not asserted).
func TestAlertmanagerStormIsOneSignal(t *testing.T) {
	tc := &fakeTemporal{}
	h := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
	body := stormBody(6700)
	require.LessOrEqual(t, len(body), DefaultMaxBodyBytes, "fits the default body limit")
	start := time.Now()
	rec := do(h, http.MethodPost, "/v1/alerts/alertmanager", string(body))
	took := time.Since(start)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, 1, tc.signals, "one signal for the whole notification")
	sig := tc.signalled[0].(workflows.AlertsSignal)
	require.Len(t, sig.Firing, 6700)
	enc, _ := json.Marshal(sig)
	t.Logf("6,700 alerts (%d-byte body): one signal of %d bytes, answered in %s", len(body), len(enc), took)

	big := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}, MaxBodyBytes: 8 << 20}).Handler()
	rec = do(big, http.MethodPost, "/v1/alerts/alertmanager", string(stormBody(MaxAlertmanagerAlerts+1)))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"alerts"`)
}

// BenchmarkAlertmanagerStorm: the time to accept one 6,700-alert Alertmanager notification (one
// signal). go test ./starter -run '^$' -bench AlertmanagerStorm
func BenchmarkAlertmanagerStorm(b *testing.B) {
	tc := &fakeTemporal{}
	h := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
	body := string(stormBody(6700))
	for b.Loop() {
		if rec := do(h, http.MethodPost, "/v1/alerts/alertmanager", body); rec.Code != http.StatusAccepted {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}
