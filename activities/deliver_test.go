package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/store"
)

type captureChannel struct{ got []notify.Message }

func (c *captureChannel) Name() string { return "capture" }
func (c *captureChannel) Send(_ context.Context, m notify.Message) error {
	c.got = append(c.got, m)
	return nil
}

// TestDeliverRedactsCredentials: a report that quotes a password (the built-in analyst repeats
// the exception message) is delivered with the password redacted.
func TestDeliverRedactsCredentials(t *testing.T) {
	st, err := store.Open(t.Context(), ":memory:")
	require.NoError(t, err)
	defer st.Close()
	ch := &captureChannel{}
	a := &Delivery{Store: st, Channels: []notify.Channel{ch}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.Deliver)
	_, err = env.ExecuteActivity(a.Deliver, DeliverRequest{Channel: "capture", Message: notify.Message{
		IncidentID: "incident-1", Title: "[critical] SlowSQL on pay-api",
		Text: "[Summary]\nAccess denied for jdbc:mysql://pay-db.example.com:3306/pay?user=app&password=Tr0ub4dor-3x; the password Tr0ub4dor-3x was refused.",
	}})
	require.NoError(t, err)
	require.Len(t, ch.got, 1)
	require.NotContains(t, ch.got[0].Text, "Tr0ub4dor-3x")
	require.Contains(t, ch.got[0].Text, "jdbc:mysql://pay-db.example.com:3306/pay?user=app&password=[redacted]")
}
