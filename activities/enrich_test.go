package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/amsource"
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
