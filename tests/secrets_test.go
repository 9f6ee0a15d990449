package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// secretAlert is a SlowSQL alert whose profile holds a database password in a JDBC URL, in a
// SQL assignment and in a client URL.
const secretAlert = `{
  "rule": "SlowSQL", "message": "SQL response time >= 8000 ms occurred 1 time on pod pay-api-5c9d",
  "severity": "warning", "application": "pay-api", "instance": "pay-api-5c9d",
  "startsAt": "2026-11-27T09:00:00Z",
  "profile": {
    "transaction": {"name": "AccountController.reset", "url": "/api/v1/accounts/reset", "method": "POST",
                    "instance": "pay-api-5c9d", "totalTimeMs": 9400, "status": 500},
    "spans": [
      {"kind": "sql", "name": "AccountRepository.reset", "durationMs": 9100,
       "sql": "UPDATE accounts SET password = 'Tr0ub4dor-3x' WHERE account_no = 4815162342"},
      {"kind": "http_client", "name": "Vault.read", "durationMs": 120,
       "url": "https://svc-pay:Tr0ub4dor-3x@vault.example.com/v1/secret", "statusCode": 200}
    ],
    "exceptions": [{"type": "java.sql.SQLException",
      "message": "Access denied for jdbc:mysql://pay-db.example.com:3306/pay?user=app&password=Tr0ub4dor-3x"}]
  }
}`

// TestCredentialsAreNotStoredNorServed: an alert whose profile holds a password is analysed;
// Vigil's store holds the incident with the password redacted (the database file and its WAL
// do not contain it, and are 0600), and no MCP tool returns it.
func TestCredentialsAreNotStoredNorServed(t *testing.T) {
	const secret = "Tr0ub4dor-3x"
	cfg := testenv.DevConfig(t, nil)
	a, base := testenv.StartDev(t, cfg)
	code, out, _ := post(t, base+"/v1/alerts/apm", []byte(secretAlert))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	require.Equal(t, "completed", waitIncident(t, base, acc.WorkflowID).Status)

	inc, err := a.Store.GetIncident(t.Context(), acc.WorkflowID)
	require.NoError(t, err)
	for _, s := range []string{inc.Report, string(inc.Alert), string(inc.Details)} {
		require.NotContains(t, s, secret)
	}
	require.Contains(t, string(inc.Alert), "pay-db.example.com", "hosts stay")
	require.Contains(t, string(inc.Alert), "[redacted]")

	// The store's files.
	for _, f := range []string{"vigil.db", "vigil.db-wal"} {
		p := filepath.Join(cfg.DataDir, f)
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		require.NotContains(t, string(b), secret, f)
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}

	// MCP over HTTP, every tool.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "tests", Version: "v1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp"}, nil)
	require.NoError(t, err)
	defer cs.Close()
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"get_incident", map[string]any{"workflowId": acc.WorkflowID}},
		{"slow_sql", nil}, {"errors", nil}, {"slow_transactions", nil}, {"list_incidents", nil},
	} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		require.NoError(t, err)
		require.False(t, res.IsError, c.tool)
		b, err := json.Marshal(res)
		require.NoError(t, err)
		require.NotContains(t, string(b), secret, c.tool)
	}
}

// hostsAlert names internal hosts inside URLs and again, by hand, without a scheme: a Kubernetes
// service and a partner's API host under .travel.
const hostsAlert = `{
  "rule": "SlowHTTP", "message": "external call >= 3000 ms on pod loyalty-api-7f9c; remote push-gateway.loyalty.svc:8080 refused, then api.partner-air.travel answered slowly",
  "severity": "warning", "application": "loyalty-api", "instance": "loyalty-api-7f9c",
  "startsAt": "2026-11-27T10:00:00Z",
  "profile": {
    "transaction": {"name": "PointsController.earn", "url": "/api/v1/points", "method": "POST",
                    "instance": "loyalty-api-7f9c", "totalTimeMs": 5200, "status": 200},
    "spans": [
      {"kind": "http_client", "name": "Metrics.push", "durationMs": 900,
       "url": "http://push-gateway.loyalty.svc:8080/metrics/job/points", "statusCode": 503},
      {"kind": "http_client", "name": "PartnerClient.fares", "durationMs": 3900,
       "url": "https://api.partner-air.travel/v2/fares", "statusCode": 200}
    ],
    "exceptions": [{"type": "java.net.ConnectException",
      "message": "Connection refused: push-gateway.loyalty.svc/10.96.4.17:8080 (remote push-gateway.loyalty.svc:8080)"}]
  }
}`

// TestMaskingHostsOutsideTheirURL: hosts whose URL was masked are masked where the profile names
// them again without a scheme; none reaches the LLM (a local OpenAI-wire server) or the usage
// log in clear, and the report shows them again.
func TestMaskingHostsOutsideTheirURL(t *testing.T) {
	leaks := []string{"push-gateway", "loyalty.svc", "partner-air", "10.96.4.17"}
	upstream := llmtest.NewServer(t)
	host := regexp.MustCompile(`remote ([\w.-]+\.svc):8080`)
	upstream.SetHandler(func(r llmtest.Received) llmtest.Reply {
		var prompt string
		for _, m := range r.Messages {
			prompt += m.Content + "\n"
		}
		h := "?"
		if m := host.FindStringSubmatch(prompt); m != nil {
			h = m[1]
		}
		return llmtest.Text(fmt.Sprintf("[Summary]\nThe metrics push to %s failed.\n\n[Transaction]\n- URL: POST /api/v1/points\n\n"+
			"[Profile analysis]\n- %s refused the connection.\n\n[Action plan]\n1. Check %s.\n", h, h, h))
	})
	cfg := testenv.DevConfig(t, gatewayConfig(upstream.URL))
	a, base := testenv.StartDev(t, cfg)
	role := `{"code": "alert-analyst", "name": "Alert analyst", "system_message": "Write the report.",
	  "chain": [{"provider": "local", "model": "model-a", "attempts": 2, "timeout": "5s"},
	            {"provider": "builtin", "model": "analyst"}]}`
	code, out, _ := request(t, http.MethodPut, base+"/v1/roles/alert-analyst", []byte(role))
	require.Equal(t, http.StatusOK, code, string(out))

	code, out, _ = post(t, base+"/v1/alerts/apm", []byte(hostsAlert))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))

	var chats int
	for _, r := range upstream.Requests() {
		if r.Method != http.MethodPost { // reachability probes carry no prompt
			continue
		}
		chats++
		body := string(r.Body)
		for _, o := range leaks {
			require.NotContains(t, body, o, "the LLM must not see %q", o)
		}
		require.Contains(t, body, ".svc:8080", "the Kubernetes suffix and the port stay")
		require.Contains(t, body, ".travel", "the public suffix stays")
	}
	require.NotZero(t, chats, "the model was asked")
	// The model answered with the masked name; the report reads the real one.
	require.True(t, strings.Contains(v.Report, "push-gateway.loyalty.svc"), v.Report)

	calls, err := a.Store.ListLLMCalls(t.Context(), store.LLMCallFilter{WorkflowID: acc.WorkflowID})
	require.NoError(t, err)
	require.NotEmpty(t, calls)
	for _, c := range calls {
		for _, o := range leaks {
			require.NotContains(t, string(c.Request), o)
			require.NotContains(t, c.Response, o)
		}
	}
}
