package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// fakePrometheus answers /api/v1/query_range with a flat series (with noise) for every query,
// so every application looks exactly like its own baselines.
func fakePrometheus(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		start, _ := time.Parse(time.RFC3339Nano, r.FormValue("start"))
		end, _ := time.Parse(time.RFC3339Nano, r.FormValue("end"))
		if start.IsZero() {
			var s, e float64
			fmt.Sscanf(r.FormValue("start"), "%g", &s)
			fmt.Sscanf(r.FormValue("end"), "%g", &e)
			start, end = time.Unix(int64(s), 0), time.Unix(int64(e), 0)
		}
		var values []string
		i := 0
		for ts := start; !ts.After(end); ts = ts.Add(time.Minute) {
			values = append(values, fmt.Sprintf(`[%d,"%g"]`, ts.Unix(), 100+float64(i%7)))
			i++
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[%s]}]}}`, strings.Join(values, ","))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDeploymentGateAndEvents announces a deployment planned now on a real server: the pre-check
// runs at once and opens the gate (the applications look like their baselines), the finish and a
// rollback are reported, and the deployment ends with a final check.
func TestDeploymentGateAndEvents(t *testing.T) {
	prom := fakePrometheus(t)
	app, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) { c.Prometheus.URL = prom.URL }))
	body := fmt.Sprintf(`{"id":"rel-42","plannedAt":%q,"version":"2.4.0","author":"ci",
	  "applications":[{"id":"a1","name":"checkout-api"},{"id":"a2","name":"catalog-api"}]}`, time.Now().UTC().Format(time.RFC3339))
	code, out, _ := post(t, base+"/v1/deployments", []byte(body))
	require.Equal(t, http.StatusAccepted, code, string(out))
	code, out, _ = post(t, base+"/v1/deployments", []byte(body))
	require.Equal(t, http.StatusAccepted, code)
	require.Contains(t, string(out), `"joined"`, "announcing twice starts one run")
	other := strings.Replace(body, `"version":"2.4.0"`, `"version":"2.4.0","links":{"x":"y"}`, 1)
	other = strings.Replace(other, `{"id":"a2","name":"catalog-api"}`, `{"id":"a3","name":"search-api"}`, 1)
	code, out, _ = post(t, base+"/v1/deployments", []byte(other))
	require.Equal(t, http.StatusConflict, code, "another deployment under the same ID: %s", out)
	require.Contains(t, string(out), "different applications")

	var gate struct {
		Decision string   `json:"decision"`
		Reasons  []string `json:"reasons"`
	}
	require.Eventually(t, func() bool {
		return getJSON(t, base+"/v1/deployments/rel-42/gate", &gate) == http.StatusOK && gate.Decision != "pending"
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, "proceed", gate.Decision, "reasons: %v", gate.Reasons)

	now := time.Now().UTC().Format(time.RFC3339)
	code, out, _ = post(t, base+"/v1/deployments/rel-42/events", []byte(`{"type":"finished","at":"`+now+`"}`))
	require.Equal(t, http.StatusAccepted, code, string(out))
	code, _, _ = post(t, base+"/v1/deployments/rel-42/events", []byte(`{"type":"rolled-back"}`))
	require.Equal(t, http.StatusAccepted, code)
	code, out, _ = post(t, base+"/v1/deployments/rel-42/events", []byte(`{"type":"exploded"}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, string(out))

	var st struct {
		Status      string `json:"status"`
		Checkpoints []struct {
			Label   string `json:"label"`
			Verdict *struct {
				State        string `json:"state"`
				Applications []struct {
					Name   string   `json:"name"`
					State  string   `json:"state"`
					Metric []string `json:"metric"`
				} `json:"applications"`
			} `json:"verdict"`
			Error string `json:"error"`
		} `json:"checkpoints"`
	}
	require.Eventually(t, func() bool {
		return getJSON(t, base+"/v1/deployments/rel-42", &st) == http.StatusOK && st.Status == "rolled-back"
	}, 30*time.Second, 100*time.Millisecond)
	require.GreaterOrEqual(t, len(st.Checkpoints), 2)
	require.Equal(t, "-30m0s", st.Checkpoints[0].Label)
	require.Equal(t, "final", st.Checkpoints[len(st.Checkpoints)-1].Label)
	for _, cp := range st.Checkpoints {
		require.Empty(t, cp.Error)
		require.NotNil(t, cp.Verdict)
		require.Len(t, cp.Verdict.Applications, 2)
	}
	require.Equal(t, "STABLE", st.Checkpoints[0].Verdict.State, "the pre-check's 30 minutes look like their baselines")
	// The final check's window (from the finish to the rollback) is too short to judge: it says
	// so instead of calling it stable.
	require.NotEqual(t, "STABLE", st.Checkpoints[len(st.Checkpoints)-1].Verdict.State)
	raw, _ := json.Marshal(st)
	require.Contains(t, string(raw), "catalog-api")
	require.Equal(t, http.StatusNotFound, getJSON(t, base+"/v1/deployments/nope", nil))

	// The list of stored deployments, and its bad queries.
	var page struct {
		Deployments []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Gate   string `json:"gate"`
		} `json:"deployments"`
	}
	require.Eventually(t, func() bool { // the record is saved right after the last state change
		return getJSON(t, base+"/v1/deployments?application=catalog-api", &page) == http.StatusOK &&
			len(page.Deployments) == 1 && page.Deployments[0].Status == "rolled-back"
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, "rel-42", page.Deployments[0].ID)
	require.Equal(t, "rolled-back", page.Deployments[0].Status)
	require.Equal(t, "proceed", page.Deployments[0].Gate)
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/deployments?application=other-api", &page))
	require.Empty(t, page.Deployments)
	var prob struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	require.Equal(t, http.StatusBadRequest, getJSON(t, base+"/v1/deployments?state=BROKEN&limit=0", &prob))
	require.Len(t, prob.Errors, 2)
	require.Equal(t, "limit", prob.Errors[0].Field)
	require.Equal(t, "state", prob.Errors[1].Field)

	// Operators filter deployments by any of their applications and by state in the Temporal UI.
	require.Eventually(t, func() bool {
		resp, err := app.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: `VigilKind = 'deployment' AND VigilApplications = 'catalog-api' AND VigilState = 'rolled-back'`})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == workflows.DeploymentWorkflowID("rel-42")
	}, 10*time.Second, 100*time.Millisecond)
}
