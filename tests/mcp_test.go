package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/mcpserver"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// An AI client reads, over Vigil's MCP endpoint (streamable HTTP) and over `vigil mcp` (stdio,
// the built binary on the same data), the slow SQL behind an incident Vigil just analysed.
func TestMCPServesTheSlowSQLOfIncidents(t *testing.T) {
	cfg := testenv.DevConfig(t, nil)
	_, base := testenv.StartDev(t, cfg)
	body, _ := profile.Example("slow-sql")
	code, out, _ := post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	require.Equal(t, "completed", waitIncident(t, base, acc.WorkflowID).Status)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	check := func(cs *mcp.ClientSession) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "slow_sql", Arguments: map[string]any{"application": "checkout-api"}})
		require.NoError(t, err)
		require.False(t, res.IsError)
		b, _ := json.Marshal(res.StructuredContent)
		var sql mcpserver.SlowSQLOutput
		require.NoError(t, json.Unmarshal(b, &sql))
		require.NotEmpty(t, sql.Statements)
		require.Equal(t, []string{"orders", "order_items"}, sql.Statements[0].Tables)
		require.Equal(t, []string{acc.WorkflowID}, sql.Statements[0].Incidents)
	}

	client := mcp.NewClient(&mcp.Implementation{Name: "tests", Version: "v1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp"}, nil)
	require.NoError(t, err)
	check(cs)
	require.NoError(t, cs.Close())

	bin := testenv.BuildVigil(t)
	cs, err = client.Connect(ctx, &mcp.CommandTransport{Command: exec.Command(bin, "mcp", "--data-dir", cfg.DataDir)}, nil)
	require.NoError(t, err)
	check(cs)
	require.NoError(t, cs.Close())
}
