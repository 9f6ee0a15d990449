package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppPlaceholderOnlyInExactMatch: `vigil config check` (config.Load) refuses a template that
// puts {{app}} anywhere but in label="{{app}}", with the file, the line and the reason; an
// application named ".*" would otherwise read every service.
func TestAppPlaceholderOnlyInExactMatch(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, promql, reason string }{
		{"regex", `sum(rate(x{app=~"{{app}}"}[5m]{{offset}}))`, "not the value of an exact-match matcher"},
		{"negative regex", `sum(rate(x{app!~"{{app}}"}[5m]{{offset}}))`, "not the value of an exact-match matcher"},
		{"not equal", `sum(rate(x{app!="{{app}}"}[5m]{{offset}}))`, "not the value of an exact-match matcher"},
		{"outside quotes", `sum(rate(x{app="a"}[5m]{{offset}})) by ({{app}})`, "outside a string literal"},
		{"single quotes", `sum(rate(x{app='{{app}}'}[5m]{{offset}}))`, "single-quoted or raw string"},
		{"function argument", `label_replace(sum(rate(x{app="a"}[5m]{{offset}})), "d", "{{app}}", "s", ".*")`, "not the value of an exact-match matcher"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml")
			body := "prometheus:\n  url: http://127.0.0.1:9090\n  queries:\n    - metric: custom\n      kind: TRANSACTION\n      direction: higher_is_worse\n      promql: '" + strings.ReplaceAll(c.promql, "'", "''") + "'\n"
			require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
			_, err := Load(file, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), file+":7: prometheus.queries[0].promql: {{app}} at offset")
			require.Contains(t, err.Error(), c.reason)
		})
	}
	for _, ok := range []string{
		`sum(rate(x{app="{{app}}"}[5m]{{offset}}))`,
		`sum(rate(x{job = "api-{{app}}", code=~"5.."}[5m]{{offset}}))`,
	} {
		file := filepath.Join(dir, "ok.yaml")
		body := "prometheus:\n  url: http://127.0.0.1:9090\n  queries:\n    - metric: custom\n      kind: TRANSACTION\n      direction: higher_is_worse\n      promql: '" + ok + "'\n"
		require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
		_, err := Load(file, nil)
		require.NoError(t, err, ok)
	}
	// Enrichment templates too.
	file := filepath.Join(dir, "enrich.yaml")
	body := "prometheus:\n  url: http://127.0.0.1:9090\n  enrichment:\n    - name: top\n      kind: TRANSACTION\n      promql: 'sum by (route) (increase(x{app=~\"{{app}}\"}[{{window}}]{{offset}}))'\n"
	require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
	_, err := Load(file, nil)
	require.ErrorContains(t, err, file+":6: prometheus.enrichment[0].promql: {{app}} at offset")
}
