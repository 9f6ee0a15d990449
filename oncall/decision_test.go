package oncall

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/llm"
)

func TestBuiltinDecision(t *testing.T) {
	for _, tc := range []struct {
		sev  string
		page bool
	}{{"critical", true}, {"warning", false}, {"info", false}, {"", false}} {
		d := Write(Task{Application: "checkout-api", Rule: "SlowSQL", Severity: tc.sev,
			Summary: "SlowSQL alert on checkout-api. The SELECT on orders took 8,413 ms at jdbc:mysql://db:3306/shop."})
		require.Equal(t, tc.page, d.Page, tc.sev)
		require.NotEmpty(t, d.Reason)
	}
	d := Write(Task{Application: "checkout-api", Rule: "SlowSQL", Severity: "critical",
		Summary: "Slow SQL at http://db.internal:3306/x on checkout_api.\nMore."})
	require.Equal(t, "This is Vigil on-call. A critical incident on checkout api: SlowSQL. Slow SQL at an address on checkout api.", d.Message)

	b := llm.NewBuiltin(map[string]llm.Answerer{TaskDecision: Answer})
	resp, err := b.Complete(context.Background(), llm.Request{Model: "triager", Task: &llm.Task{Kind: TaskDecision,
		Data: Task{Application: "a", Severity: "critical"}}})
	require.NoError(t, err)
	var back Decision
	require.NoError(t, json.Unmarshal([]byte(resp.Text), &back))
	require.True(t, back.Page)
	require.Equal(t, "critical", back.Severity)
}
