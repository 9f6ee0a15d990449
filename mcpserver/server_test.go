package mcpserver_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/mcpserver"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/store"
)

// connect serves the tools over in-memory transports to a real MCP client.
func connect(t *testing.T, st store.Store) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	srv := mcpserver.New(st, "test")
	st1, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st1, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v1"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func seed(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	for i, name := range []string{"slow-sql", "exception", "n-plus-one", "normal"} {
		raw, ok := profile.Example(name)
		require.True(t, ok, name)
		al, err := profile.ParseAlert(raw)
		require.NoError(t, err)
		b, err := json.Marshal(al)
		require.NoError(t, err)
		require.NoError(t, st.SaveIncident(t.Context(), store.Incident{
			WorkflowID: "incident-" + name, RunID: "r" + string(rune('0'+i)), AlertName: al.Rule, Application: al.Application,
			Severity: al.Severity, Status: "completed", Report: "[Summary]\n" + name, Alert: b,
			Details: json.RawMessage(`{"facts":[{"kind":"` + name + `"}]}`),
		}))
	}
	return st
}

func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, out any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	require.NoError(t, err)
	if out != nil && !res.IsError {
		b, err := json.Marshal(res.StructuredContent)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, out))
	}
	return res
}

func TestToolsAreListed(t *testing.T) {
	cs := connect(t, seed(t))
	res, err := cs.ListTools(context.Background(), nil)
	require.NoError(t, err)
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
		require.NotEmpty(t, tl.Description)
		require.NotNil(t, tl.InputSchema)
	}
	require.ElementsMatch(t, []string{"list_incidents", "get_incident", "slow_sql", "errors", "slow_transactions"}, names)
}

func TestSlowSQLErrorsAndTransactions(t *testing.T) {
	cs := connect(t, seed(t))

	var sql mcpserver.SlowSQLOutput
	call(t, cs, "slow_sql", map[string]any{"minDurationMs": 1000}, &sql)
	require.NotEmpty(t, sql.Statements)
	top := sql.Statements[0]
	require.Contains(t, top.SQL, "FROM orders o JOIN order_items")
	require.Equal(t, []string{"orders", "order_items"}, top.Tables)
	require.Equal(t, "SELECT", top.CRUD)
	require.Greater(t, top.MaxDurationMs, 8000.0)
	require.Contains(t, top.Incidents, "incident-slow-sql")
	for _, s := range sql.Statements {
		require.GreaterOrEqual(t, s.MaxDurationMs, 1000.0)
	}

	var errs mcpserver.ErrorsOutput
	call(t, cs, "errors", nil, &errs)
	require.NotEmpty(t, errs.Errors)
	var withStack *mcpserver.ErrorGroup
	for i, e := range errs.Errors {
		if e.StackTrace != "" {
			withStack = &errs.Errors[i]
		}
	}
	require.NotNil(t, withStack, "the exception example's stack trace")
	require.Contains(t, withStack.Incidents, "incident-exception")

	var txs mcpserver.SlowTransactionsOutput
	call(t, cs, "slow_transactions", map[string]any{"limit": 2}, &txs)
	require.Len(t, txs.Transactions, 2)
	require.GreaterOrEqual(t, txs.Transactions[0].TotalTimeMs, txs.Transactions[1].TotalTimeMs)
	require.NotEmpty(t, txs.Transactions[0].Spans)
	require.GreaterOrEqual(t, txs.Transactions[0].Spans[0].DurationMs, txs.Transactions[0].Spans[len(txs.Transactions[0].Spans)-1].DurationMs)
}

func TestIncidentTools(t *testing.T) {
	cs := connect(t, seed(t))
	var list mcpserver.ListOutput
	call(t, cs, "list_incidents", map[string]any{"limit": 10}, &list)
	require.Len(t, list.Incidents, 4)

	var d mcpserver.IncidentDetail
	call(t, cs, "get_incident", map[string]any{"workflowId": "incident-slow-sql"}, &d)
	require.Equal(t, "checkout-api", d.Application)
	require.Contains(t, d.Report, "slow-sql")
	require.NotNil(t, d.Transaction)
	require.Equal(t, []any{map[string]any{"kind": "slow-sql"}}, d.Facts)

	res := call(t, cs, "get_incident", map[string]any{"workflowId": "nope"}, nil)
	require.True(t, res.IsError)
	require.Contains(t, res.Content[0].(*mcp.TextContent).Text, `no incident "nope"`)
	res = call(t, cs, "slow_sql", map[string]any{"limit": 1000}, nil)
	require.True(t, res.IsError, "a bad limit is the caller's error, with its reason")
	require.Contains(t, res.Content[0].(*mcp.TextContent).Text, "limit must be between 1 and 200")
}

// TestToolsNeverReturnACredential: an incident stored with a password in its profile (a record
// written before the store redacted them) is answered with the password redacted by every tool.
func TestToolsNeverReturnACredential(t *testing.T) {
	st, err := store.Open(t.Context(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	const secret = "Tr0ub4dor-3"
	alert := `{"rule":"SlowSQL","application":"pay-api","severity":"critical","startsAt":"2026-11-26T09:00:00Z",
	  "message":"login failed for jdbc:mysql://db.example.com:3306/pay?user=app&password=` + secret + `",
	  "profile":{"transaction":{"name":"PayController.pay","url":"/pay","totalTimeMs":9400,"status":500},
	    "spans":[{"kind":"sql","name":"PayRepository.save","durationMs":9100,"sql":"UPDATE accounts SET password = '` + secret + `' WHERE id = 48213"},
	             {"kind":"http_client","name":"Bank.call","durationMs":120,"url":"https://app:` + secret + `@bank.example.com/v1"}],
	    "exceptions":[{"type":"java.sql.SQLException","message":"Access denied (using password: ` + secret + `)","stackTrace":"at a.B.c(B.java:1)"}]}}`
	al, err := profile.ParseAlert([]byte(alert))
	require.NoError(t, err)
	b, err := json.Marshal(al)
	require.NoError(t, err)
	require.Contains(t, string(b), secret)
	require.NoError(t, st.SaveIncident(t.Context(), store.Incident{
		WorkflowID: "incident-secret", RunID: "r1", AlertName: al.Rule, Application: al.Application,
		Severity: al.Severity, Status: "completed", Report: "[Summary]\nThe password " + secret + " was refused.", Alert: b,
		Details: json.RawMessage(`{"facts":[{"kind":"exception","detail":"password=` + secret + `"}]}`),
	}))
	cs := connect(t, st)
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"get_incident", map[string]any{"workflowId": "incident-secret"}},
		{"slow_sql", nil}, {"errors", nil}, {"slow_transactions", nil}, {"list_incidents", nil},
	} {
		res := call(t, cs, c.tool, c.args, nil)
		require.False(t, res.IsError, c.tool)
		raw, err := json.Marshal(res)
		require.NoError(t, err)
		require.NotContains(t, string(raw), secret, c.tool)
		require.NotContains(t, string(raw), "Tr0ub4dor", c.tool)
	}
	var d mcpserver.IncidentDetail
	call(t, cs, "get_incident", map[string]any{"workflowId": "incident-secret"}, &d)
	require.Contains(t, d.Report, "[redacted]")
}
