package profile

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSchemaDocShowsExample(t *testing.T) {
	doc, err := os.ReadFile("SCHEMA.md")
	require.NoError(t, err)
	example, _ := Example(ExampleSlowSQL)
	require.Contains(t, string(doc), string(example))
}

// FuzzParseAlert checks that no input panics and that every accepted alert re-encodes to a
// document that is accepted again and encodes the same.
func FuzzParseAlert(f *testing.F) {
	for _, name := range ExampleNames() {
		data, _ := Example(name)
		f.Add(data)
	}
	f.Add([]byte(minimalAlert))
	f.Add([]byte(`{"rule":"x","profile":{"spans":[{"kind":"sql","sql":"select * from a join b"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAlert(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(a)
		require.NoError(t, err)
		again, err := ParseAlert(out)
		require.NoError(t, err)
		// Compare encodings: a time parsed with a zero offset may come back as time.Local or
		// time.UTC, which are equal instants but not equal structs.
		out2, err := json.Marshal(again)
		require.NoError(t, err)
		require.JSONEq(t, string(out), string(out2))
	})
}

func FuzzAnalyzeSQL(f *testing.F) {
	for _, s := range []string{"SELECT * FROM a JOIN b ON a.id = b.id", "INSERT INTO `t` (a) VALUES ('x''y')", "WITH x AS (SELECT 1) UPDATE y SET z = 1", "/* c", "'open", `"open`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		tables, crud := AnalyzeSQL(sql)
		for _, tb := range tables {
			require.NotEmpty(t, tb)
		}
		_ = crud
		_ = NormalizeSQL(sql)
	})
}
