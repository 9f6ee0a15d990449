package starter

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/workflows"
)

// The application of an Alertmanager alert: the configured label first, then application,
// service, service_name, app and job; the incident carries the investigation options.
func TestAlertmanagerApplicationLabel(t *testing.T) {
	payload := func(labels string) string {
		return `{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighErrorRate",` +
			labels + `},"startsAt":"2026-12-02T03:00:00Z","fingerprint":"f1"}]}`
	}
	for _, c := range []struct{ label, labels, want string }{
		{"", `"service_name":"checkout-api","job":"prom"`, "checkout-api"},
		{"", `"service":"svc","service_name":"otel"`, "svc"},
		{"", `"application":"app","service":"svc"`, "app"},
		{"team_service", `"team_service":"payments","application":"app"`, "payments"},
		{"team_service", `"app":"a"`, "a"},
	} {
		tc := &fakeTemporal{}
		api := &API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}, ApplicationLabel: c.label,
			Investigation: workflows.InvestigationOptions{LookBack: 3600e9}}
		rec := do(api.Handler(), http.MethodPost, "/v1/alerts/alertmanager", payload(c.labels))
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		in := tc.inputs[0].(workflows.IncidentInput)
		require.Equal(t, c.want, in.Alert.Application, c.labels)
		require.Equal(t, api.Investigation, in.Investigation)
	}
}
