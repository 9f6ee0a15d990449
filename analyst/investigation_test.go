package analyst

import (
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
