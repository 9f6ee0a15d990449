package analyst

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/promsource"
)

func fp(v float64) *float64 { return &v }

func investigatedAlert() (*profile.Alert, *Investigation) {
	start := time.Date(2026, 12, 2, 3, 14, 0, 0, time.UTC)
	al := &profile.Alert{Rule: "HighErrorRate", Application: "checkout-api", Severity: "critical",
		Message: "5xx ratio above 5 % for 10 minutes", StartsAt: start}
	inv := &Investigation{Application: "checkout-api", At: start, LookBack: 6 * time.Hour,
		From: start.Add(-30 * time.Minute), To: start.Add(2 * time.Minute),
		Changes: []Change{{ID: "2026.12.02-3", Version: "2.4.1", At: start.Add(-4 * time.Minute), Status: "watching",
			State: "UNSTABLE", Checkpoint: "+10m", Comment: "error ratio up"}},
		Health: []compare.Finding{
			{Metric: "throughput", Kind: "TRANSACTION", Verdict: compare.Stable, CurrentMedian: 20,
				Baselines: []compare.BaselineResult{{Name: "1d", Median: 21}, {Name: "1w", Median: 19}}},
			{Metric: "error_ratio", Kind: "TRANSACTION", Verdict: compare.Degraded, CurrentMedian: 0.072,
				Baselines: []compare.BaselineResult{{Name: "1d", Median: 0.005}, {Name: "1w", Median: 0.006}}},
			{Metric: "alerts_firing", Kind: "ALERT", Verdict: compare.Degraded, CurrentMedian: 1},
		},
		Tables: []promsource.Table{{Name: "top_failing_endpoints", Kind: "TRANSACTION", Rows: []promsource.Row{
			{Labels: map[string]string{"http_request_method": "GET", "http_route": "/api/cart"}, Current: 2},
			{Labels: map[string]string{"http_request_method": "POST", "http_route": "/api/checkout"}, Current: 14, Day: fp(0)},
		}}},
	}
	return al, inv
}

func TestWriteInvestigatedNamesDeploymentMetricAndEndpoint(t *testing.T) {
	al, inv := investigatedAlert()
	for _, lang := range []string{"en", "ko"} {
		r := WriteInvestigated(al, inv, lang)
		text := r.Render()
		if _, err := ParseReport(text); err != nil {
			t.Fatalf("%s: %v\n%s", lang, err, text)
		}
		for _, want := range []string{"2026.12.02-3", "2.4.1", "7.2 %", "0.5 %", "0.6 %", "POST /api/checkout 5xx ×14"} {
			if !strings.Contains(r.Summary, want) {
				t.Errorf("%s summary lacks %q: %s", lang, want, r.Summary)
			}
		}
		if lang == "en" && !strings.Contains(r.Summary, "started 4 minutes after deployment 2026.12.02-3") {
			t.Errorf("summary: %s", r.Summary)
		}
		if lang == "ko" && !strings.Contains(r.Summary, "4분 후") {
			t.Errorf("summary: %s", r.Summary)
		}
		t.Log(text)
	}
}

func TestWriteInvestigatedWithoutDeploymentSaysWhatItChecked(t *testing.T) {
	al, inv := investigatedAlert()
	inv.Changes = nil
	r := WriteInvestigated(al, inv, "en")
	if !strings.Contains(r.Summary, "error ratio 7.2 % vs 0.5 % a day ago and 0.6 % a week ago") ||
		!strings.Contains(r.Summary, "no deployment of checkout-api in the 6 h before") {
		t.Errorf("summary: %s", r.Summary)
	}
	// Nothing regressed and nothing changed: the report says what it looked at.
	inv.Health = inv.Health[:1]
	inv.Tables = nil
	for _, lang := range []string{"en", "ko"} {
		r = WriteInvestigated(al, inv, lang)
		if _, err := ParseReport(r.Render()); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"en": {"points at no cause", "no deployment of checkout-api in the 6 h", "throughput"},
			"ko": {"원인을 찾지 못했습니다", "6 h", "처리량"}}[lang]
		for _, w := range want {
			if !strings.Contains(r.Summary, w) {
				t.Errorf("%s summary lacks %q: %s", lang, w, r.Summary)
			}
		}
	}
}

func TestWriteInvestigatedNamesFailedParts(t *testing.T) {
	al, inv := investigatedAlert()
	inv.Changes, inv.Health, inv.Tables = nil, nil, nil
	inv.Failed = []PartFailure{{Part: PartChanges, Error: "store down"}, {Part: PartHealth, Error: "timeout"}}
	for _, lang := range []string{"en", "ko"} {
		text := WriteInvestigated(al, inv, lang).Render()
		if _, err := ParseReport(text); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "store down") || !strings.Contains(text, "timeout") {
			t.Errorf("%s: failed parts not named:\n%s", lang, text)
		}
	}
	if p := InvestigationPrompt(al, inv); !strings.Contains(p, "store down") {
		t.Errorf("prompt: %s", p)
	}
}

// A deployment hours before the alert that its own checks judged STABLE is not taken for the
// cause; the report says so.
func TestWriteInvestigatedUnrelatedDeployment(t *testing.T) {
	al, inv := investigatedAlert()
	inv.Changes[0].At = al.StartsAt.Add(-5 * time.Hour)
	inv.Changes[0].State = "STABLE"
	for lang, want := range map[string][]string{
		"en": {"look at its dependencies", "took effect 5 h before the alert and its checks judged it STABLE"},
		"ko": {"의존 서비스와 인프라를 확인", "5 h 전에 적용되었고 점검 판정은 STABLE"},
	} {
		r := WriteInvestigated(al, inv, lang)
		for _, w := range want {
			if !strings.Contains(r.Summary, w) {
				t.Errorf("%s summary lacks %q: %s", lang, w, r.Summary)
			}
		}
		if _, err := ParseReport(r.Render()); err != nil {
			t.Fatal(err)
		}
	}
	// Not judged STABLE (UNSTABLE, or not judged yet): still a suspect, however long ago.
	inv.Changes[0].State = "UNSTABLE"
	if r := WriteInvestigated(al, inv, "en"); !strings.Contains(r.Summary, "Most likely cause: the deployment") {
		t.Errorf("summary: %s", r.Summary)
	}
}

func TestWriteInvestigatedNamesTheExemplarTrace(t *testing.T) {
	al, inv := investigatedAlert()
	b, _ := profile.Example("slow-sql")
	slow, err := profile.ParseAlert(b)
	if err != nil {
		t.Fatal(err)
	}
	inv.Trace = &ExemplarTrace{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Endpoint: "POST /api/checkout", Failing: true,
		Facts: Detect(slow.Profile, Thresholds{})}
	for lang, want := range map[string]string{"en": "the failing trace 4bf92f35 (POST /api/checkout): Slow SQL", "ko": "실패한 트레이스 4bf92f35(POST /api/checkout)"} {
		r := WriteInvestigated(al, inv, lang)
		if !strings.Contains(r.Summary, want) || strings.Contains(r.Summary, "SELECT o.id") {
			t.Errorf("%s summary: %s", lang, r.Summary)
		}
		if _, err := ParseReport(r.Render()); err != nil {
			t.Fatal(err)
		}
	}
	inv.Trace = &ExemplarTrace{Note: "no trace source is configured (traces)"}
	if p := InvestigationPrompt(al, inv); !strings.Contains(p, "no trace source") {
		t.Errorf("prompt: %s", p)
	}
}

// TestWriteInvestigatedDatesTheRegression: the episodes of the metrics date the regression's
// onset, and the deployment that preceded the onset is the suspect, not the latest before the
// alert; a deployment followed by calm metrics is cleared.
func TestWriteInvestigatedDatesTheRegression(t *testing.T) {
	al, inv := investigatedAlert()
	start := al.StartsAt
	tm := func(d time.Duration) *time.Time { t := start.Add(d); return &t }
	withEpisode := func(from, to time.Duration, calm *time.Time) {
		inv.Health[1].Episodes = []compare.Episode{{From: start.Add(from), To: start.Add(to), CalmFrom: calm}}
	}

	// A bad deployment, then a fix 4 minutes before the alert that ended the errors: the bad one.
	inv.Changes = []Change{
		{ID: "fix", Version: "6.1.1", At: start.Add(-4 * time.Minute), Status: "watching", State: "STABLE", Checkpoint: "+5m"},
		{ID: "bad", Version: "6.1.0", At: start.Add(-27 * time.Minute), Status: "watching", State: "UNSTABLE", Checkpoint: "+10m"},
	}
	withEpisode(-25*time.Minute, -3*time.Minute, tm(-30*time.Minute))
	for lang, want := range map[string][]string{
		"en": {"Most likely cause: the deployment bad.", "worse than a day and a week earlier from 02:49 to 03:11 UTC"},
		"ko": {"가장 유력한 원인은 배포 bad입니다", "02:49–03:11 UTC"},
	} {
		r := WriteInvestigated(al, inv, lang)
		for _, w := range want {
			if !strings.Contains(r.Summary, w) {
				t.Errorf("fix after bad, %s summary lacks %q: %s", lang, w, r.Summary)
			}
		}
		if lang == "en" && !strings.Contains(r.Render(), "Not taken for the cause: it took effect after the regression began at 02:49 UTC") {
			t.Errorf("fix after bad: the fix is not explained:\n%s", r.Render())
		}
	}

	// A fix 42 minutes before, calm metrics, new errors 11 minutes before the alert: not the fix.
	inv.Changes = []Change{{ID: "fix", Version: "2.7.3", At: start.Add(-42 * time.Minute), Status: "done", State: "STABLE", Checkpoint: "+30m"}}
	withEpisode(-11*time.Minute, 2*time.Minute, tm(-30*time.Minute))
	for lang, want := range map[string][]string{
		"en": {"look at its dependencies", "its metrics were in line with their baselines from 02:44 UTC for 19 min, until the regression began at 03:03 UTC"},
		"ko": {"의존 서비스와 인프라를 확인", "19 min 동안"},
	} {
		r := WriteInvestigated(al, inv, lang)
		for _, w := range want {
			if !strings.Contains(r.Summary, w) {
				t.Errorf("calm after the fix, %s summary lacks %q: %s", lang, w, r.Summary)
			}
		}
	}

	// The same, but the calm stretch is short: within the hour, the deployment stays the suspect.
	inv.Changes[0].At = start.Add(-15 * time.Minute)
	if r := WriteInvestigated(al, inv, "en"); !strings.Contains(r.Summary, "Most likely cause: the deployment fix.") {
		t.Errorf("4 minutes of calm: %s", r.Summary)
	}

	// Errors began before the window: not dated, the deployment within the hour is the suspect.
	inv.Changes[0].At = start.Add(-42 * time.Minute)
	withEpisode(-30*time.Minute, 2*time.Minute, nil)
	if r := WriteInvestigated(al, inv, "en"); !strings.Contains(r.Summary, "Most likely cause: the deployment fix.") {
		t.Errorf("undated: %s", r.Summary)
	}

	// Errors that began 2 minutes before a deployment finished (a rollout) still follow it; ones
	// that began 5 minutes before it do not.
	inv.Changes[0].At = start.Add(-10 * time.Minute)
	withEpisode(-12*time.Minute, 2*time.Minute, tm(-30*time.Minute))
	if r := WriteInvestigated(al, inv, "en"); !strings.Contains(r.Summary, "Most likely cause: the deployment fix.") {
		t.Errorf("errors during the rollout: %s", r.Summary)
	}
	withEpisode(-15*time.Minute, 2*time.Minute, tm(-30*time.Minute))
	if r := WriteInvestigated(al, inv, "en"); strings.Contains(r.Summary, "Most likely cause: the deployment") {
		t.Errorf("errors before the deployment: %s", r.Summary)
	}
	// ...unless its rollout had begun by then.
	inv.Changes[0].StartedAt = start.Add(-16 * time.Minute)
	if r := WriteInvestigated(al, inv, "en"); !strings.Contains(r.Summary, "Most likely cause: the deployment fix.") {
		t.Errorf("errors during a long rollout: %s", r.Summary)
	}
}

func TestWriteInvestigatedDeploymentAfterTheOnset(t *testing.T) {
	al, inv := investigatedAlert()
	start := al.StartsAt
	calm := start.Add(-30 * time.Minute)
	inv.Changes[0].At, inv.Changes[0].State = start.Add(-10*time.Minute), "STABLE"
	inv.Health[1].Episodes = []compare.Episode{{From: start.Add(-15 * time.Minute), To: start.Add(2 * time.Minute), CalmFrom: &calm}}
	for lang, want := range map[string]string{
		"en": "took effect 10 min before the alert, after the regression began at 02:59 UTC",
		"ko": "문제가 02:59 UTC에 시작된 뒤에 적용되었습니다",
	} {
		r := WriteInvestigated(al, inv, lang)
		if !strings.Contains(r.Summary, want) {
			t.Errorf("%s summary lacks %q: %s", lang, want, r.Summary)
		}
		t.Log(r.Render())
	}
}

// TestWriteInvestigatedRegressionUnderWayBeforeTheData: worse from the first minute read, so a
// deployment after that did not start it.
func TestWriteInvestigatedRegressionUnderWayBeforeTheData(t *testing.T) {
	al, inv := investigatedAlert()
	start := al.StartsAt
	inv.OnsetFrom = start.Add(-150 * time.Minute)
	inv.Changes[0].At, inv.Changes[0].State = start.Add(-2*time.Hour), "UNSTABLE"
	inv.Health[1].Episodes = []compare.Episode{{From: inv.OnsetFrom, To: start.Add(2 * time.Minute), Ramp: true}}
	r := WriteInvestigated(al, inv, "en")
	for _, want := range []string{"look at its dependencies", "when the regression was already under way (worse from the first minute read, 00:44 UTC)"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, r.Summary)
		}
	}
	// A deployment before the data began stays the suspect when its checks did not find it STABLE.
	inv.Changes[0].At = start.Add(-3 * time.Hour)
	if r := WriteInvestigated(al, inv, "en"); !strings.Contains(r.Summary, "Most likely cause: the deployment 2026.12.02-3.") {
		t.Errorf("summary: %s", r.Summary)
	}
}

// TestWriteInvestigatedNeverPanics writes every combination of deployments (none, before the
// data, inside the lead, in the window, after the onset, after the alert; with and without a
// rollout start and a STABLE verdict) and episodes (none, dated, ramp, under way before the
// data, ended before the alert) in both languages.
func TestWriteInvestigatedNeverPanics(t *testing.T) {
	al, base := investigatedAlert()
	start := al.StartsAt
	base.OnsetFrom = start.Add(-150 * time.Minute)
	tm := func(d time.Duration) *time.Time { t := start.Add(d); return &t }
	offsets := []time.Duration{-4 * time.Hour, -100 * time.Minute, -40 * time.Minute, -12 * time.Minute, -3 * time.Minute, 5 * time.Minute}
	episodes := [][]compare.Episode{
		nil,
		{{From: start.Add(-15 * time.Minute), To: start.Add(2 * time.Minute), CalmFrom: tm(-150 * time.Minute)}},
		{{From: start.Add(-90 * time.Minute), To: start.Add(2 * time.Minute), CalmFrom: tm(-150 * time.Minute), Ramp: true}},
		{{From: start.Add(-150 * time.Minute), To: start.Add(2 * time.Minute), Ramp: true}},
		{{From: start.Add(-25 * time.Minute), To: start.Add(-3 * time.Minute), CalmFrom: tm(-30 * time.Minute)}},
		{{From: start.Add(-120 * time.Minute), To: start.Add(-80 * time.Minute), CalmFrom: tm(-150 * time.Minute)},
			{From: start.Add(-11 * time.Minute), To: start.Add(2 * time.Minute), CalmFrom: tm(-79 * time.Minute)}},
	}
	n := 0
	for _, eps := range episodes {
		for mask := 0; mask < 1<<len(offsets); mask++ {
			for _, variant := range []int{0, 1} {
				inv := *base
				inv.Health = append([]compare.Finding(nil), base.Health...)
				inv.Health[1].Episodes = eps
				inv.Changes = nil
				for i, d := range offsets {
					if mask&(1<<i) == 0 {
						continue
					}
					ch := Change{ID: fmt.Sprintf("d%d", i), At: start.Add(d), Status: "watching", State: "UNSTABLE"}
					if variant == 1 {
						ch.State, ch.StartedAt = "STABLE", ch.At.Add(-8*time.Minute)
					}
					inv.Changes = append(inv.Changes, ch)
				}
				for _, lang := range []string{"en", "ko"} {
					if _, err := ParseReport(WriteInvestigated(al, &inv, lang).Render()); err != nil {
						t.Fatalf("%v", err)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d reports written", n)
}

// TestInvestigationPromptCarriesTheEpisodes: the role's prompt gets the same dating facts as the
// built-in analyst.
func TestInvestigationPromptCarriesTheEpisodes(t *testing.T) {
	al, inv := investigatedAlert()
	start := al.StartsAt
	calm := start.Add(-40 * time.Minute)
	inv.OnsetFrom = start.Add(-150 * time.Minute)
	day := 0.005
	inv.Health[1].Episodes = []compare.Episode{{From: start.Add(-12 * time.Minute), To: start, CalmFrom: &calm, Level: 0.07, Day: &day}}
	p := InvestigationPrompt(al, inv)
	for _, want := range []string{"read but not judged, to date when a change began",
		"episode: worse than both baselines from 2026-12-02T03:02:00Z to 2026-12-02T03:14:00Z, median 0.07 (1d 0.005, 1w none); in line with the baselines from 2026-12-02T02:34:00Z until then"} {
		if !strings.Contains(p, want) {
			t.Errorf("prompt lacks %q:\n%s", want, p)
		}
	}
}
