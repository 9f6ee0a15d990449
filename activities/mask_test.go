package activities

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/mask"
)

// A JSON answer stays JSON when a restored value holds a quote or a backslash.
func TestUnmaskJSONAnswer(t *testing.T) {
	v := &mask.Vault{Entries: []mask.Entry{
		{Kind: "sql", Value: `SELECT * FROM "orders" WHERE note = 'a\b'`, Token: "xq7token1"},
		{Kind: "host", Value: "db-main.corp.example.com", Token: "hk0mu108"},
	}}
	answer := `{"page": true, "message": "Slow query xq7token1 on hk0mu108.", "severity": "critical"}`
	a := &Gateway{}
	out, err := a.UnmaskText(context.Background(), UnmaskRequest{Vault: v, Text: answer, JSON: true})
	require.NoError(t, err)
	var d struct {
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	require.Equal(t, `Slow query SELECT * FROM "orders" WHERE note = 'a\b' on db-main.corp.example.com.`, d.Message)

	// Plain text (and a JSON role whose answer is not JSON) is restored as text.
	out, err = a.UnmaskText(context.Background(), UnmaskRequest{Vault: v, Text: "on hk0mu108", JSON: true})
	require.NoError(t, err)
	require.Equal(t, "on db-main.corp.example.com", out)
}
