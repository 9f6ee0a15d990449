package alertmap_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/alertmap"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/profile"
)

func mapper(t *testing.T, name string) *alertmap.Mapper {
	t.Helper()
	b, err := os.ReadFile("testdata/sources.yaml")
	require.NoError(t, err)
	cfg, err := config.Parse("sources.yaml", b, nil)
	require.NoError(t, err)
	g, ok := cfg.GenericSource(name)
	require.True(t, ok)
	m, err := alertmap.Compile(g.Spec())
	require.NoError(t, err)
	return m
}

func mapFile(t *testing.T, m *alertmap.Mapper, path string) (alertmap.Result, error) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + path)
	require.NoError(t, err)
	return m.Map(b, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
}

// A CloudWatch alarm through SNS: the alarm is the JSON text of the envelope's Message.
func TestCloudWatchViaSNS(t *testing.T) {
	m := mapper(t, "cloudwatch")
	res, err := mapFile(t, m, "cloudwatch-alarm.json")
	require.NoError(t, err)
	require.False(t, res.Resolved)
	a := res.Alert
	require.Equal(t, "checkout-api-5xx", a.Rule)
	require.True(t, strings.HasPrefix(a.Message, "Threshold Crossed: 1 out of the last 1 datapoints [12.0"))
	require.Equal(t, "critical", a.Severity)
	require.Equal(t, "checkout-api", a.Application)
	require.Equal(t, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-api-5xx", a.Fingerprint)
	require.True(t, a.StartsAt.Equal(time.Date(2026, 12, 2, 9, 1, 12, 345000000, time.UTC)))
	require.Equal(t, map[string]string{"region": "US East (N. Virginia)", "account": "123456789012", "metric": "AWS/ApplicationELB/HTTPCode_Target_5XX_Count"}, a.Labels)
	require.Equal(t, map[string]float64{"threshold": 5}, a.Values)
	require.Equal(t, []profile.Link{{Name: "alarm", URL: "https://console.aws.amazon.com/cloudwatch/home#alarmsV2:alarm/checkout-api-5xx"}}, a.Links)
	require.Equal(t, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-api-5xx", res.GroupKey)

	ok, err := mapFile(t, m, "cloudwatch-ok.json")
	require.NoError(t, err)
	require.True(t, ok.Resolved)
	require.Equal(t, a.Fingerprint, ok.Alert.Fingerprint, "the OK resolves the alarm's alert")
	require.Equal(t, res.GroupKey, ok.GroupKey)
}

// An uptime checker: Uptime Kuma's down and up heartbeats.
func TestUptimeKuma(t *testing.T) {
	m := mapper(t, "uptime-kuma")
	res, err := mapFile(t, m, "uptime-kuma-down.json")
	require.NoError(t, err)
	a := res.Alert
	require.Equal(t, "Monitor down: checkout-api health", a.Rule)
	require.Equal(t, "[checkout-api health] [🔴 Down] Request failed with status code 503", a.Message)
	require.Equal(t, "checkout-api", a.Application)
	require.Equal(t, "uptime-kuma-7", a.Fingerprint)
	require.True(t, a.StartsAt.Equal(time.Date(2026, 12, 2, 9, 0, 0, 123000000, time.UTC)))
	require.Equal(t, "https://checkout.example.com/healthz", a.Links[0].URL)

	up, err := mapFile(t, m, "uptime-kuma-up.json")
	require.NoError(t, err)
	require.True(t, up.Resolved)
	require.Equal(t, "uptime-kuma-7", up.Alert.Fingerprint)
	require.Equal(t, res.GroupKey, up.GroupKey, "default group: rule and application")
}

// A custom script's own body, with the model's default fingerprint (rule, application,
// instance), so a resend is the same alert.
func TestCustomScript(t *testing.T) {
	m := mapper(t, "disk-script")
	res, err := mapFile(t, m, "script.json")
	require.NoError(t, err)
	a := res.Alert
	require.Equal(t, "disk_usage", a.Rule)
	require.Equal(t, "orders-db", a.Application)
	require.Equal(t, "db-1", a.Instance)
	require.Equal(t, "critical", a.Severity)
	require.Equal(t, (&profile.Alert{Rule: "disk_usage", Application: "orders-db", Instance: "db-1"}).ComputeFingerprint(), a.Fingerprint)
	require.True(t, a.StartsAt.Equal(time.Unix(1764666000, 0)))
	require.Equal(t, map[string]float64{"used_percent": 97.5}, a.Values)
	require.Equal(t, "dba", a.Labels["team"])
}

// What a body gets wrong is named by the mapping's key, with why.
func TestMapErrors(t *testing.T) {
	m := mapper(t, "disk-script")
	for _, c := range []struct{ body, field, msg string }{
		{`{"check":"disk_usage","host":"db-1","service":"orders-db","level":"critical","at":1764666000,"runbook":"https://w/x","used_percent":1}`, "message", "no such key: details"},
		{`{"check":"disk_usage","details":"d","host":"db-1","service":"orders-db","level":"sev1","at":1764666000,"runbook":"https://w/x","used_percent":1}`, "severity", "must be one of critical, warning, info"},
		{`{"check":"disk_usage","details":"d","host":"db-1","service":"orders-db","level":"critical","at":"yesterday","runbook":"https://w/x","used_percent":1}`, "starts_at", `"yesterday" is not an RFC 3339 time`},
		{`{"check":"disk_usage","details":"d","host":"db-1","service":"orders-db","level":"critical","at":1764666000,"runbook":"javascript:x","used_percent":1}`, "links", "must be an absolute http or https URL"},
		{`{"check":["a"],"details":"d","host":"db-1","service":"orders-db","level":"critical","at":1764666000,"runbook":"https://w/x","used_percent":"lots"}`, "rule", "must be a string, got a list"},
		{`{"check":"disk_usage","details":"d","host":"db-1","service":"orders-db","level":"critical","at":1764666000,"runbook":"https://w/x","used_percent":"lots"}`, "values", `value "used_percent" must be a number`},
	} {
		_, err := m.Map([]byte(c.body), time.Now())
		var fes alertmap.FieldErrors
		require.ErrorAs(t, err, &fes, c.body)
		require.Equal(t, c.field, fes[0].Field, err.Error())
		require.Contains(t, fes[0].Message, c.msg)
	}
	_, err := m.Map([]byte(`{"check":`), time.Now())
	require.ErrorIs(t, err, alertmap.ErrNotJSON)
	_, err = m.Map([]byte(`{} {}`), time.Now())
	require.ErrorIs(t, err, alertmap.ErrNotJSON)
}

// An expression that loops over a large body stops at the cost limit, with an error.
func TestCostLimit(t *testing.T) {
	m, err := alertmap.Compile(alertmap.Spec{Rule: `body.xs.map(x, body.xs.map(y, x + y)).size() > 0 ? "r" : "s"`, Message: `"m"`, Application: `"a"`})
	require.NoError(t, err)
	xs := make([]string, 3000)
	for i := range xs {
		xs[i] = "1"
	}
	start := time.Now()
	_, err = m.Map([]byte(`{"xs":[`+strings.Join(xs, ",")+`]}`), time.Now())
	require.Error(t, err)
	require.Contains(t, err.Error(), "rule")
	require.Less(t, time.Since(start), 5*time.Second)
}
