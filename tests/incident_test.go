package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tests/testenv"
)

type accepted struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	Status     string `json:"status"`
}

// apiKey, when set, is sent as a bearer token by post and getJSON.
var apiKey string

func request(t *testing.T, method, url string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b, resp.Header
}

func post(t *testing.T, url string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	return request(t, http.MethodPost, url, body)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	code, b, _ := request(t, http.MethodGet, url, nil)
	if code >= 500 {
		// A server too busy to answer (a query that timed out under load) is "not yet" to the
		// polls that call this; the code says so to the others.
		t.Logf("GET %s: %d %s", url, code, b)
		return code
	}
	if v != nil {
		require.NoError(t, json.Unmarshal(b, v), string(b))
	}
	return code
}

type incidentView struct {
	WorkflowID string          `json:"workflowId"`
	Status     string          `json:"status"`
	Report     string          `json:"report"`
	Details    json.RawMessage `json:"details"`
}

func waitIncident(t *testing.T, base, id string) incidentView {
	t.Helper()
	var v incidentView
	require.Eventually(t, func() bool {
		v = incidentView{}
		code := getJSON(t, base+"/v1/incidents/"+id, &v)
		return code == http.StatusOK && (v.Status == "completed" || v.Status == "failed")
	}, 60*time.Second, 100*time.Millisecond)
	return v
}

// TestAlertToReport walks the skeleton end to end on a real Temporal server: an APM alert with an
// inline profile is accepted, the IncidentWorkflow runs the role alert-analyst through the
// built-in analyst, and the stored report has the four sections.
func TestAlertToReport(t *testing.T) {
	_, base := testenv.StartDev(t, testenv.DevConfig(t, nil))

	var health map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, base+"/healthz", &health))
	require.Equal(t, "ok", health["status"])

	body, ok := profile.Example("slow-sql")
	require.True(t, ok)
	code, out, hdr := post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	require.NotEmpty(t, acc.WorkflowID)
	require.Equal(t, "started", acc.Status)

	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	rep, err := analyst.ParseReport(v.Report)
	require.NoError(t, err, v.Report)
	require.NotEmpty(t, rep.Summary)
	require.NotEmpty(t, rep.Transaction)
	require.NotEmpty(t, rep.Analysis)
	require.NotEmpty(t, rep.Actions)
	require.Contains(t, v.Report, "orders", "the report names the slow table")

	// The same alert again (Alertmanager resends) joins the finished investigation.
	code, out, _ = post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var again accepted
	require.NoError(t, json.Unmarshal(out, &again))
	require.Equal(t, acc.WorkflowID, again.WorkflowID)
	require.Equal(t, "joined", again.Status)

	var list struct {
		Incidents []incidentView `json:"incidents"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/incidents", &list))
	require.Len(t, list.Incidents, 1, "a resend never yields a second incident")

	// The usage log holds the builtin call.
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(metrics), "temporal_", "SDK metrics are exported")
	require.Contains(t, string(metrics), "vigil_http_requests_total")
}

func TestAlertBadInput(t *testing.T) {
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) { c.HTTP.MaxBodyBytes = 64 << 10 }))

	cases := []struct {
		name  string
		body  string
		code  int
		field string
	}{
		{"not json", `{"rule": "SlowSQL",`, http.StatusBadRequest, ""},
		{"missing fields", `{"rule": "SlowSQL"}`, http.StatusUnprocessableEntity, "startsAt"},
		{"bad severity", `{"rule":"SlowSQL","message":"m","application":"api","startsAt":"2026-11-26T14:03:00Z","severity":"apocalyptic"}`, http.StatusUnprocessableEntity, "severity"},
		{"negative span", `{"rule":"SlowSQL","message":"m","application":"api","startsAt":"2026-11-26T14:03:00Z","profile":{"transaction":{"totalTimeMs":10},"spans":[{"kind":"sql","durationMs":-1,"sql":"select 1"}]}}`, http.StatusUnprocessableEntity, "profile.spans[0].durationMs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, hdr := post(t, base+"/v1/alerts/apm", []byte(c.body))
			require.Equal(t, c.code, code, string(out))
			require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
			var prob struct {
				Status int `json:"status"`
				Errors []struct {
					Field string `json:"field"`
				} `json:"errors"`
			}
			require.NoError(t, json.Unmarshal(out, &prob))
			require.Equal(t, c.code, prob.Status)
			if c.field != "" {
				var fields []string
				for _, e := range prob.Errors {
					fields = append(fields, e.Field)
				}
				require.Contains(t, fields, c.field)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := `{"rule":"SlowSQL","message":"` + strings.Repeat("x", 70<<10) + `"}`
		code, out, hdr := post(t, base+"/v1/alerts/apm", []byte(big))
		require.Equal(t, http.StatusRequestEntityTooLarge, code, string(out))
		require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
	})
	t.Run("unknown incident", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, getJSON(t, base+"/v1/incidents/incident-nope-1", nil))
	})
	t.Run("nothing was started", func(t *testing.T) {
		var list struct {
			Incidents []incidentView `json:"incidents"`
		}
		require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/incidents", &list))
		require.Empty(t, list.Incidents)
	})
}
