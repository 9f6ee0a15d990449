package roles

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefaultsParse(t *testing.T) {
	all, err := Defaults()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	r, ok := Default("alert-analyst")
	require.True(t, ok)
	require.Equal(t, "builtin", r.Chain[len(r.Chain)-1].Provider)
}

func TestParseRejects(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"empty chain", "code: x1\nsystem_message: hi\nchain: []\n", "chain: must have at least one link"},
		{"bad temperature", "code: x1\nsystem_message: hi\nchain: [{provider: builtin, model: analyst}]\nparameters: {temperature: 3}\n", "parameters.temperature"},
		{"unknown key", "code: x1\nsystem_message: hi\nchain: [{provider: builtin, model: analyst}]\ntemprature: 1\n", "temprature"},
		{"bad format", "code: x1\nsystem_message: hi\nchain: [{provider: builtin, model: analyst}]\nresponse_format: {type: xml}\n", "response_format.type"},
		{"schema missing", "code: x1\nsystem_message: hi\nchain: [{provider: builtin, model: analyst}]\nresponse_format: {type: json_schema}\n", "response_format.schema"},
		{"bad duration", "code: x1\nsystem_message: hi\nchain: [{provider: builtin, model: analyst}]\nrate_limit_interval: soon\n", "invalid duration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.yaml))
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), c.want), err.Error())
		})
	}
}

func TestSchemaRoundTrip(t *testing.T) {
	r, err := Parse("f.yaml", []byte("code: x1\nsystem_message: hi\nchain: [{provider: builtin, model: analyst}]\nresponse_format:\n  type: json_schema\n  name: verdict\n  schema: {type: object, properties: {state: {type: string}}}\n"))
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"object","properties":{"state":{"type":"string"}}}`, string(r.ResponseFormat.Schema))
}

func TestParseNamesLine(t *testing.T) {
	_, err := Parse("r.yaml", []byte("code: x1\nsystem_message: hi\nchain:\n  - {provider: builtin, model: analyst}\n  - {provider: builtin, model: analyst, attempts: 99}\nparameters: {temperature: 3}\n"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "r.yaml:5: chain[1].attempts")
	require.Contains(t, err.Error(), "r.yaml:6: parameters.temperature")
}

func TestParseAllMultiDocument(t *testing.T) {
	rs, err := ParseAll("all.yaml", []byte("code: a1\nsystem_message: x\nchain: [{provider: builtin, model: analyst}]\n---\ncode: b1\nsystem_message: y\nchain: [{provider: builtin, model: analyst}]\n"))
	require.NoError(t, err)
	require.Len(t, rs, 2)
	require.Equal(t, "b1", rs[1].Code)
}
