package incident

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/notify"
)

// The stored incident's details and the histories in flight are this JSON: its field names
// do not change.
func TestRecordJSONShape(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 14, 0, 0, time.UTC)
	r := Record{WorkflowID: "incident-1", RunID: "r1", Status: "completed", Report: "x", Language: "en",
		Details: &Details{Provider: "p", Model: "m", LinkIndex: 1, Attempts: 2, RoleVersion: 3, Step: "s", Error: "e",
			Failures:   []gateway.LinkFailure{{LinkIndex: 0, Provider: "p0", Model: "m0", Error: "HTTP 503"}},
			Group:      []GroupAlert{{Fingerprint: "f", Rule: "R", Application: "a", Instance: "i", Severity: "critical", StartsAt: at, Status: "firing"}},
			Deliveries: []notify.DeliveryState{{Channel: "email", Status: "failed", Error: "down"}}, OnCall: "oncall-1"}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.ElementsMatch(t, []string{"workflow_id", "run_id", "alert", "status", "report", "language", "details"}, keys(got))
	d := got["details"].(map[string]any)
	require.ElementsMatch(t, []string{"provider", "model", "link_index", "attempts", "role_version", "failures", "step", "error",
		"group", "deliveries", "oncall"}, keys(d))
	require.ElementsMatch(t, []string{"fingerprint", "rule", "application", "instance", "severity", "starts_at", "status"},
		keys(d["group"].([]any)[0].(map[string]any)))
	require.ElementsMatch(t, []string{"channel", "status", "error"}, keys(d["deliveries"].([]any)[0].(map[string]any)))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
