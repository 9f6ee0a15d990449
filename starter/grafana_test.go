package starter

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/workflows"
)

func fixture(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + path)
	require.NoError(t, err)
	return string(b)
}

// Grafana's webhook contact point posts version "1" (its documented payload): the group becomes
// one incident whose alerts keep Grafana's values and links, and the resolved notification
// resolves them by fingerprint.
func TestGrafanaDocumentedPayload(t *testing.T) {
	tc := &fakeTemporal{}
	h := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()

	rec := do(h, http.MethodPost, "/v1/alerts/alertmanager", fixture(t, "grafana/firing.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"firing": 2`)
	require.Equal(t, 1, tc.signals)
	sig := tc.signalled[0].(workflows.AlertsSignal)
	require.Len(t, sig.Firing, 2)
	require.Equal(t, []string{"c6eadffa33fcdf37", "bc97ff14869b13e3"}, []string{sig.Firing[0].Fingerprint, sig.Firing[1].Fingerprint}, "oldest first")

	in := tc.inputs[0].(workflows.IncidentInput)
	al := in.Alert
	require.Equal(t, "High memory usage", al.Rule)
	require.Equal(t, "This alert was triggered for zone us-1", al.Message)
	require.Equal(t, "grafana", al.Application, "no application label and no folder")
	require.Equal(t, "warning", al.Severity)
	require.Equal(t, "c6eadffa33fcdf37", al.Fingerprint)
	require.True(t, al.StartsAt.Equal(time.Date(2021, 10, 12, 7, 51, 3, 157076000, time.UTC)))
	require.True(t, al.EndsAt.IsZero(), "0001-01-01 is still firing")
	require.Equal(t, map[string]float64{"B": 44.23943737541908, "C": 1}, al.Values)
	require.Equal(t, []profile.Link{
		{Name: "source", URL: "https://play.grafana.org/alerting/1afz29v7z/edit"},
		{Name: "silence", URL: "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1"},
	}, al.Links, "empty dashboard and panel URLs are left out")
	require.Equal(t, "blue", al.Labels["team"])
	require.Equal(t, "{}:{}", in.GroupKey)

	// A resend joins the same incident; the resolution resolves both alerts.
	rec = do(h, http.MethodPost, "/v1/alerts/alertmanager", fixture(t, "grafana/firing.json"))
	require.Equal(t, http.StatusAccepted, rec.Code)
	rec = do(h, http.MethodPost, "/v1/alerts/alertmanager", fixture(t, "grafana/resolved.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"resolved": 2`)
	res := tc.signalled[len(tc.signalled)-1].(workflows.AlertsSignal)
	require.Equal(t, []string{"c6eadffa33fcdf37", "bc97ff14869b13e3"}, res.Resolved)
	require.Empty(t, res.Firing)
}

// The older documented variant: valueString instead of values, and a panel screenshot.
func TestGrafanaValueStringAndImage(t *testing.T) {
	tc := &fakeTemporal{}
	h := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
	body := strings.Replace(fixture(t, "grafana/value-string.json"), `"zone": "us-1"`, `"zone": "us-1", "grafana_folder": "Checkout"`, 1)
	rec := do(h, http.MethodPost, "/v1/alerts/alertmanager", body)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	al := tc.inputs[0].(workflows.IncidentInput).Alert
	require.Equal(t, "Checkout", al.Application, "the folder names the application when no label does")
	require.Equal(t, "[ metric='' labels={} value=14151.331895396988 ]", al.ValueString)
	require.Nil(t, al.Values)
	require.Equal(t, profile.Link{Name: "image", URL: "https://play.grafana.org/public/img/attachments/abcd1234.png"}, al.Links[len(al.Links)-1])
}

// Versions other than Alertmanager's 4 and Grafana's 1 are still refused, naming the field; a
// link that is not an absolute http(s) URL is left out rather than refusing the alert.
func TestGrafanaVersionsAndLinks(t *testing.T) {
	tc := &fakeTemporal{}
	h := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
	body := fixture(t, "grafana/firing.json")
	rec := do(h, http.MethodPost, "/v1/alerts/alertmanager", strings.Replace(body, `"version": "1"`, `"version": "2"`, 1))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Body.String(), `"field":"version"`)

	bad := strings.Replace(body, `"https://play.grafana.org/alerting/1afz29v7z/edit"`, `"javascript:alert(1)"`, 1)
	rec = do(h, http.MethodPost, "/v1/alerts/alertmanager", bad)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	al := tc.inputs[0].(workflows.IncidentInput).Alert
	require.Len(t, al.Links, 1)
	require.Equal(t, "silence", al.Links[0].Name)

	rec = do(h, http.MethodPost, "/v1/alerts/alertmanager", strings.Replace(body, `"C": 1`, `"C": "one"`, 1))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"alerts.values"`)
}
