package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// alerts.sources takes each source's secret by reference only; config check names an unset
// reference with its file and line.
func TestAlertSources(t *testing.T) {
	c, err := Parse("vigil.yaml", y(
		"alerts:",
		"  sources:",
		"    sentry:",
		"      client_secret_env: VIGIL_TEST_SENTRY_SECRET",
		"    datadog:",
		"      token_file: /run/secrets/datadog",
	), nil)
	require.NoError(t, err)
	require.True(t, c.Alerts.Sources.Sentry.Enabled())
	require.True(t, c.Alerts.Sources.Datadog.Enabled())
	require.False(t, c.Alerts.Sources.Kibana.Enabled())
	err = c.CheckSecrets()
	require.ErrorContains(t, err, "vigil.yaml:4: alerts.sources.sentry.client_secret_env: environment variable VIGIL_TEST_SENTRY_SECRET is not set")
	require.ErrorContains(t, err, "vigil.yaml:6: alerts.sources.datadog.token_file:")

	_, err = Parse("vigil.yaml", y("alerts:", "  sources:", "    sentry:", "      client_secret: abc"), nil)
	require.ErrorContains(t, err, "vigil.yaml:4: alerts.sources.sentry.client_secret: secrets are only accepted by reference; use client_secret_env or client_secret_file")
	_, err = Parse("vigil.yaml", y("alerts:", "  sources:", "    grafana:", "      token_env: X"), nil)
	require.ErrorContains(t, err, `vigil.yaml:3: alerts.sources: unknown key "grafana"`)
}

// Generic sources: their CEL expressions are compiled at load (and so at `vigil config check`),
// each error at its key's line.
func TestGenericSourceValidation(t *testing.T) {
	_, err := Parse("vigil.yaml", y(
		"alerts:",
		"  sources:",
		"    generic:",
		"      - name: script",
		"        token_env: T",
		"        rule: 'body.check +'",
		"        message: 'body.details'",
		"        application: 'body.service'",
		"        labels: 'unknown_fn(body)'",
		"      - name: sentry",
		"        token_env: T",
		"        message: '\"m\"'",
		"        application: '\"a\"'",
		"      - name: script",
		"        rule: '\"r\"'",
		"        message: '\"m\"'",
		"        application: '\"a\"'",
	), nil)
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "vigil.yaml:6: alerts.sources.generic[0].rule: CEL: ERROR: <input>:1:13: Syntax error")
	require.Contains(t, msg, "vigil.yaml:9: alerts.sources.generic[0].labels: CEL: ERROR: <input>:1:11: undeclared reference to 'unknown_fn'")
	require.Contains(t, msg, `vigil.yaml:10: alerts.sources.generic[1].name: "sentry" is a built-in alert source`)
	require.Contains(t, msg, "alerts.sources.generic[1].rule: required: a CEL expression over body")
	require.Contains(t, msg, `vigil.yaml:14: alerts.sources.generic[2].name: duplicate name "script" (also alerts.sources.generic[0])`)
	require.Contains(t, msg, "alerts.sources.generic[2].token_env: required: set token_env or token_file")
}
