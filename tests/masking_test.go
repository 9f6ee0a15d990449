package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// sensitiveAlert is a SlowSQL alert whose profile holds a JDBC URL with credentials, host
// names, an IP, e-mail addresses and SQL literals.
const sensitiveAlert = `{
  "rule": "SlowSQL", "message": "SQL response time >= 8000 ms occurred 1 time on pod pay-api-5c9d",
  "severity": "critical", "application": "pay-api", "instance": "pay-api-5c9d",
  "startsAt": "2026-11-26T09:00:00Z",
  "profile": {
    "transaction": {"name": "PaymentController.refund", "url": "/api/v1/refunds", "method": "POST",
                    "instance": "pay-api-5c9d", "totalTimeMs": 9400, "status": 500},
    "spans": [
      {"kind": "db_connect", "name": "HikariPool-1.getConnection", "durationMs": 2.0,
       "remoteAddress": "real-db.example.com:3306"},
      {"kind": "sql", "name": "RefundRepository.findByEmail", "durationMs": 9100,
       "sql": "SELECT r.id, r.amount FROM refunds r WHERE r.customer_email = 'kim.minsu@example.com' AND r.order_id = 4815162342"},
      {"kind": "http_client", "name": "NotifyClient.send", "durationMs": 120,
       "url": "http://10.20.30.40:8080/api/notify", "statusCode": 200}
    ],
    "exceptions": [{"type": "java.sql.SQLException",
      "message": "Access denied for jdbc:mysql://real-db.example.com:3306/real_db?user=app&password=s3cr3t-pass; contact dba-team@example.com"}]
  }
}`

var originals = []string{
	"real-db.example.com", "real_db", "s3cr3t-pass", "kim.minsu@example.com", "dba-team@example.com",
	"10.20.30.40", "4815162342",
}

// TestMaskingEndToEnd sends a profile full of sensitive values through the alert-analyst role to
// a local LLM that quotes what it received: none of the originals reaches the LLM, the stored
// report shows them again, and neither the Temporal database nor the usage log holds them.
func TestMaskingEndToEnd(t *testing.T) {
	upstream := llmtest.NewServer(t)
	jdbc := regexp.MustCompile(`jdbc:mysql://[^\s;?]+`)
	email := regexp.MustCompile(`[\w.+-]+@[\w.-]+\.\w+`)
	upstream.SetHandler(func(r llmtest.Received) llmtest.Reply {
		var prompt string
		for _, m := range r.Messages {
			prompt += m.Content + "\n"
		}
		// A well-formed report that quotes the (masked) values it was given.
		return llmtest.Text(fmt.Sprintf("[Summary]\nSlow SQL on refunds.\n\n[Transaction]\n- URL: POST /api/v1/refunds\n\n"+
			"[Profile analysis]\n- The database %s refused the connection; ask %s.\n\n[Action plan]\n1. Fix the credentials of %s.\n",
			jdbc.FindString(prompt), email.FindString(prompt), jdbc.FindString(prompt)))
	})
	cfg := testenv.DevConfig(t, gatewayConfig(upstream.URL))
	a, base := testenv.StartDev(t, cfg)
	role := `{"code": "alert-analyst", "name": "Alert analyst", "system_message": "Write the report.",
	  "chain": [{"provider": "local", "model": "model-a", "attempts": 2, "timeout": "5s"},
	            {"provider": "builtin", "model": "analyst"}]}`
	code, out, _ := request(t, http.MethodPut, base+"/v1/roles/alert-analyst", []byte(role))
	require.Equal(t, http.StatusOK, code, string(out))

	code, out, _ = post(t, base+"/v1/alerts/apm", []byte(sensitiveAlert))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	_, err := analyst.ParseReport(v.Report)
	require.NoError(t, err)

	// What the LLM received.
	var chats int
	for _, r := range upstream.Requests() {
		if r.Method != http.MethodPost { // reachability probes carry no prompt
			continue
		}
		chats++
		for _, o := range originals {
			require.NotContains(t, string(r.Body), o, "the LLM must not see %q", o)
		}
		require.Contains(t, string(r.Body), "refunds", "the table name survives masking")
		require.Contains(t, string(r.Body), "SELECT", "the SQL shape survives masking")
		require.Regexp(t, `jdbc:mysql://[^"\s]+:3306/`, string(r.Body), "the JDBC URL keeps its scheme and port")
	}
	require.NotZero(t, chats, "the model was asked")
	// The stored report shows the originals again.
	require.Contains(t, v.Report, "jdbc:mysql://real-db.example.com:3306/real_db")
	require.Contains(t, v.Report, "@example.com")

	// The usage log holds the masked request and answer only.
	calls, err := a.Store.ListLLMCalls(t.Context(), store.LLMCallFilter{WorkflowID: acc.WorkflowID})
	require.NoError(t, err)
	require.NotEmpty(t, calls)
	for _, c := range calls {
		for _, o := range originals {
			require.NotContains(t, string(c.Request), o)
			require.NotContains(t, c.Response, o)
		}
	}

	// Nothing in Temporal's database: payloads are encrypted, the vault with them.
	time.Sleep(200 * time.Millisecond) // let the server flush its last writes
	for _, f := range []string{"temporal.db", "temporal.db-wal"} {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, f))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, o := range originals {
			require.False(t, strings.Contains(string(b), o), "%s holds %q in the clear", f, o)
		}
	}
}
