package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// TestWorkerKilledDuringLLMCall kills `vigil dev` with SIGKILL while the report's LLM call is in
// flight; after a restart on the same data dir the incident completes, with exactly one e-mail.
func TestWorkerKilledDuringLLMCall(t *testing.T) {
	bin := testenv.BuildVigil(t)
	box, smtpAddr := startSMTP(t)
	upstream := llmtest.NewServer(t)
	var calls atomic.Int32
	upstream.SetHandler(func(llmtest.Received) llmtest.Reply {
		if calls.Add(1) == 1 {
			return llmtest.Reply{Text: "never delivered", Delay: 30 * time.Second} // killed before it answers
		}
		return llmtest.Text("[Summary]\nSlow SQL on orders.\n\n[Transaction]\n- POST /api/v1/checkout\n\n[Profile analysis]\n- SELECT on orders took 8.4 s.\n\n[Action plan]\n1. Add an index.\n")
	})
	dir := t.TempDir()
	rolesDir := filepath.Join(dir, "roles")
	require.NoError(t, os.MkdirAll(rolesDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rolesDir, "alert-analyst.yaml"), []byte(`code: alert-analyst
name: Alert analyst
system_message: Write the incident report.
chain:
  - {provider: local, model: model-a, attempts: 3, timeout: 5s}
  - {provider: builtin, model: analyst}
`), 0o644))
	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`providers:
  - name: local
    type: openai
    base_url: %s
    models: [{name: model-a, rpm: 600}]
roles_dir: %s
notify:
  email: {smtp_addr: %s, from: vigil@example.com, to: [oncall@example.com]}
`, upstream.URL, rolesDir, smtpAddr)), 0o644))
	dataDir := filepath.Join(dir, "data")

	p1 := startVigilDev(t, bin, dataDir, "--config", cfgPath)
	body, _ := profile.Example("slow-sql")
	code, out, _ := post(t, "http://"+p1.http+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	require.Eventually(t, func() bool { return calls.Load() >= 1 }, 30*time.Second, 20*time.Millisecond, "the LLM call never started")

	require.NoError(t, p1.cmd.Process.Signal(syscall.SIGKILL))
	_ = p1.cmd.Wait()

	p2 := startVigilDev(t, bin, dataDir, "--config", cfgPath)
	v := waitIncident(t, "http://"+p2.http, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, "output:\n%s", p2.out)
	require.Contains(t, v.Report, "Add an index", "the LLM answered after the restart")
	require.Eventually(t, func() bool { return box.count() >= 1 }, 30*time.Second, 50*time.Millisecond)
	time.Sleep(time.Second) // a duplicate would arrive now
	require.Equal(t, 1, box.count(), "exactly one e-mail")
	// The report is stored as completed first; the delivery outcome follows in the details.
	var details struct {
		Deliveries []struct {
			Channel string `json:"channel"`
			Status  string `json:"status"`
		} `json:"deliveries"`
	}
	require.Eventually(t, func() bool {
		var iv incidentView
		getJSON(t, "http://"+p2.http+"/v1/incidents/"+acc.WorkflowID, &iv)
		return json.Unmarshal(iv.Details, &details) == nil && len(details.Deliveries) == 1
	}, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, "email", details.Deliveries[0].Channel)
	require.Equal(t, "sent", details.Deliveries[0].Status)
}
