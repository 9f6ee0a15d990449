package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/amsource"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
)

func TestAlertFinding(t *testing.T) {
	from := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	al := func(name, state string, starts time.Time) amsource.Alert {
		return amsource.Alert{Name: name, Severity: "critical", State: state, StartsAt: starts}
	}
	for _, tc := range []struct {
		name    string
		alerts  []amsource.Alert
		verdict compare.Verdict
		summary string
	}{
		{"none", nil, compare.Stable, "Alertmanager: no active alert"},
		{"started in the window", []amsource.Alert{al("HighLatency", "active", from.Add(10*time.Minute))},
			compare.Degraded, "1 alert(s) started in the window: [HighLatency (critical) since 2026-11-26T10:10:00Z]"},
		{"already firing before", []amsource.Alert{al("DiskFull", "active", from.Add(-time.Hour))},
			compare.Inconclusive, "already firing before the window"},
		{"both", []amsource.Alert{al("DiskFull", "active", from.Add(-time.Hour)), al("HighLatency", "active", from.Add(time.Minute))},
			compare.Degraded, "also firing before the window: [DiskFull (critical) since 2026-11-26T09:00:00Z]"},
		{"silenced is named, not counted", []amsource.Alert{al("Noisy", "suppressed", from.Add(time.Minute))},
			compare.Stable, "silenced or inhibited: [Noisy (critical)]"},
		{"after the window is not this window's", []amsource.Alert{al("Later", "active", to.Add(time.Minute))},
			compare.Stable, "no active alert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := alertFinding(tc.alerts, from, to)
			require.Equal(t, "ALERT", f.Kind)
			require.Equal(t, tc.verdict, f.Verdict)
			require.Contains(t, f.Summary, tc.summary)
		})
	}
}

type fakeAlerts struct{ asked []map[string]string }

func (f *fakeAlerts) Alerts(_ context.Context, m map[string]string) ([]amsource.Alert, error) {
	f.asked = append(f.asked, m)
	return []amsource.Alert{{Name: "HighLatency", State: "active", StartsAt: time.Date(2026, 11, 26, 10, 5, 0, 0, time.UTC)}}, nil
}

// The alerts of an application are read by the configured label, in the health facts and in
// the enrichment alike.
func TestAlertsReadByTheConfiguredLabel(t *testing.T) {
	fa := &fakeAlerts{}
	a := &Change{Alerts: fa, AlertLabel: "service"}
	from := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	res, err := a.CollectHealth(context.Background(), HealthRequest{Apps: []change.Application{{ID: "a1", Name: "checkout-api"}}, From: from, To: from.Add(time.Hour)})
	require.NoError(t, err)
	var alert compare.Finding
	for _, f := range res.Apps[0].Findings {
		if f.Metric == "alertmanager_active" {
			alert = f
		}
	}
	require.Equal(t, compare.Degraded, alert.Verdict)
	es, err := a.Enrich(context.Background(), EnrichRequest{Apps: []EnrichApp{{App: change.Application{ID: "a1", Name: "checkout-api"}, Kinds: []string{"ALERT"}}},
		From: from, To: from.Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, es[0].Alerts, 1)
	require.Equal(t, []map[string]string{{"service": "checkout-api"}, {"service": "checkout-api"}}, fa.asked)
}
