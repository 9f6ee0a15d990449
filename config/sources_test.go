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
