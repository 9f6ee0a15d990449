package devserver

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/config"
)

// TestInternalPortTakenIsAnError takes the history service's port after the server chose it and
// before the server binds it: Start returns a one-line error naming the port and the fix, where
// the server used to crash with a nil listener and a stack trace.
func TestInternalPortTakenIsAnError(t *testing.T) {
	var taken string
	testHookConfig = func(c *config.Config) {
		taken = net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Services["history"].RPC.GRPCPort))
		l, err := net.Listen("tcp", taken)
		require.NoError(t, err)
		t.Cleanup(func() { _ = l.Close() })
	}
	t.Cleanup(func() { testHookConfig = nil })

	s, err := Start(t.Context(), Options{Address: "127.0.0.1:0"})
	if s != nil {
		_ = s.Stop()
	}
	require.Error(t, err)
	msg := err.Error()
	t.Log(msg)
	require.NotContains(t, msg, "\n")
	require.Contains(t, msg, taken)
	require.Contains(t, msg, "start vigil dev again")
}
