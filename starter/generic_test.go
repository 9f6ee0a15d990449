package starter

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/alertmap"
	"github.com/vigil-ops/vigil/workflows"
)

func genericAPI(t testing.TB, tc *fakeTemporal) http.Handler {
	m, err := alertmap.Compile(alertmap.Spec{Rule: "body.check", Message: "body.details", Application: "body.service",
		Instance: "body.host", Severity: "body.level", StartsAt: "body.at", Resolved: `body.level == "ok"`})
	require.NoError(t, err)
	return (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true},
		Sources: Sources{Generic: map[string]GenericSource{"disk-script": {Token: []byte("script-token"), Mapper: m}}}}).Handler()
}

const scriptBody = `{"check":"disk_usage","host":"db-1","service":"orders-db","level":"critical","at":1764666000,"details":"97% full"}`

// A configured source: its token (bearer or basic), its mapping, the group's incident; a body
// the mapping cannot read is a 422 naming the mapping's field.
func TestGenericSource(t *testing.T) {
	tc := &fakeTemporal{}
	h := genericAPI(t, tc)
	rec := tokenPost(h, "disk-script", "script-token", scriptBody)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	al := tc.inputs[0].(workflows.IncidentInput).Alert
	require.Equal(t, "disk_usage", al.Rule)
	require.Equal(t, "orders-db", al.Application)
	require.Equal(t, "critical", al.Severity)

	req := httptest.NewRequest(http.MethodPost, "/v1/alerts/disk-script", strings.NewReader(scriptBody))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("vigil", "script-token")
	require.Equal(t, http.StatusAccepted, serve(h, req).Code, "the token as a basic-auth password")

	rec = tokenPost(h, "disk-script", "script-token", strings.Replace(scriptBody, `"level":"critical"`, `"level":"ok"`, 1))
	require.Equal(t, http.StatusAccepted, rec.Code)
	sig := tc.signalled[len(tc.signalled)-1].(workflows.AlertsSignal)
	require.Equal(t, []string{al.Fingerprint}, sig.Resolved)

	for _, tok := range []string{"", "wrong"} {
		rec = tokenPost(h, "disk-script", tok, scriptBody)
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		require.NotContains(t, rec.Body.String(), "script-token")
	}
	rec = tokenPost(h, "disk-script", "script-token", strings.Replace(scriptBody, `"details":"97% full"`, `"detail":"x"`, 1))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"message","message":"no such key: details"`)
	rec = tokenPost(h, "disk-script", "script-token", strings.Replace(scriptBody, `"host":"db-1"`, `"host":"`+strings.Repeat("h", 300)+`"`, 1))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"instance"`)
	rec = tokenPost(h, "disk-script", "script-token", `{"check":`)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = tokenPost(h, "other-script", "script-token", scriptBody)
	require.Equal(t, http.StatusNotFound, rec.Code)
}
