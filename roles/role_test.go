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
