package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestErrorsNeverPrintAURLPassword: a URL with a password is redacted in validation errors, also
// when url.Parse rejects it (the error used to print it verbatim).
func TestErrorsNeverPrintAURLPassword(t *testing.T) {
	for _, c := range []struct {
		name string
		yaml []byte
	}{
		{"unparseable base_url", with(provider[:2], "    base_url: http://llm:p%zzSecret9@127.0.0.1:9000/v1", "    models:", "      - name: model-a")},
		{"unparseable public_url", y("http:", "  public_url: https://ops:p a s s Secret9@vigil.example.com/")},
		{"wrong scheme", y("http:", "  public_url: ftp://ops:Secret9@vigil.example.com/")},
		{"unparseable query", y("http:", "  public_url: ftp://vigil.example.com/?token=Secret9&x=%zz")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("vigil.yaml", c.yaml, nil)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "Secret9", err.Error())
			require.Contains(t, err.Error(), "xxxxx", err.Error())
		})
	}
}
