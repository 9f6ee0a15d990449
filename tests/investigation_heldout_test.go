package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// The held-out labelled set of the investigation: metric-only alerts written and labelled by
// someone who had not read the analyst's rules, committed before they ran. Each label is the
// cause a person on call would want named, not what the rules were expected to say.

// heldPhase: from At (relative to the alert's start; negative is before it) until the next phase,
// the application's metrics are its steady shape changed by these (zero values: unchanged).
type heldPhase struct {
	At      time.Duration
	Errors  float64 // the 5xx share (steady: 0.5 %)
	Slow    float64 // the median latency's factor
	Traffic float64 // the request rate's factor
	Ramp    bool    // Slow is reached gradually, from At to the alert (a leak)
}

// heldDeployment is a deployment of the application recorded by Vigil, finished Before the alert.
type heldDeployment struct {
	ID      string
	Version string
	Before  time.Duration
}

// heldOutAlert is one case: its application's metrics, its deployments, the alert's rule and the
// labelled cause (deployment with Culprit, dependency, traffic, or none: the report must claim no
// cause and say what it looked at).
type heldOutAlert struct {
	App         string
	Family      string
	Rule        string
	Phases      []heldPhase
	Deployments []heldDeployment
	NoMetrics   bool // the application has no series in Prometheus at all
	Cause       string
	Culprit     string
	Why         string
}

// heldOutAlerts is the held-out set; the labels were written before the test ran.
var heldOutAlerts = []heldOutAlert{
	{App: "h-bd-01", Family: "bad-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h-bd-01-r7", "3.2.0", 9 * time.Minute}},
		Phases:      []heldPhase{{At: -7 * time.Minute, Errors: 0.06}},
		Cause:       "deployment", Culprit: "h-bd-01-r7", Why: "5xx from 0.5 % to 6 % two minutes after the deployment finished"},
	{App: "h-bd-02", Family: "bad-deployment", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h-bd-02-r3", "1.9.4", 38 * time.Minute}},
		Phases:      []heldPhase{{At: -36 * time.Minute, Slow: 2.5}},
		Cause:       "deployment", Culprit: "h-bd-02-r3", Why: "latency ×2.5 from two minutes after the deployment"},
	{App: "h-bd-03", Family: "bad-deployment", Rule: "ErrorBudgetBurn",
		Deployments: []heldDeployment{{"h-bd-03-r1", "7.0.0", 52 * time.Minute}},
		Phases:      []heldPhase{{At: -50 * time.Minute, Errors: 0.03, Slow: 1.6}},
		Cause:       "deployment", Culprit: "h-bd-03-r1", Why: "errors ×6 and latency ×1.6 from two minutes after the deployment; the budget alert fired late"},
	{App: "h-ud-01", Family: "unrelated-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h-ud-01-r2", "2.1.1", 3*time.Hour + 30*time.Minute}},
		Phases:      []heldPhase{{At: -14 * time.Minute, Errors: 0.05}},
		Cause:       "dependency", Why: "the deployment was fine for three hours; errors began 14 minutes before the alert"},
	{App: "h-ud-02", Family: "unrelated-deployment", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h-ud-02-r5", "0.8.2", 5*time.Hour + 40*time.Minute}},
		Phases:      []heldPhase{{At: -18 * time.Minute, Slow: 3}},
		Cause:       "dependency", Why: "latency ×3 from 18 minutes before the alert, more than five hours after a healthy deployment"},
	{App: "h-do-01", Family: "dependency-outage", Rule: "DatabaseErrors",
		Phases: []heldPhase{{At: -10 * time.Minute, Errors: 0.12, Slow: 6}},
		Cause:  "dependency", Why: "the database stopped answering: 12 % 5xx and connection timeouts (latency ×6), no change"},
	{App: "h-do-02", Family: "dependency-outage", Rule: "UpstreamErrors",
		Phases: []heldPhase{{At: -16 * time.Minute, Errors: 0.08}},
		Cause:  "dependency", Why: "a downstream service answers 5xx, passed on as 8 % 5xx, no change"},
	{App: "h-do-03", Family: "dependency-outage", Rule: "HighLatency",
		Phases: []heldPhase{{At: -12 * time.Minute, Slow: 8, Errors: 0.02}},
		Cause:  "dependency", Why: "calls to a dependency time out: latency ×8, a few 5xx, traffic as usual"},
	{App: "h-ts-01", Family: "traffic-spike", Rule: "HighLatency",
		Phases: []heldPhase{{At: -14 * time.Minute, Traffic: 3.5, Slow: 2}},
		Cause:  "traffic", Why: "3.5× the usual requests, latency doubles under the load"},
	{App: "h-ts-02", Family: "traffic-spike", Rule: "HighErrorRate",
		Phases: []heldPhase{{At: -10 * time.Minute, Traffic: 6, Errors: 0.05}},
		Cause:  "traffic", Why: "6× the usual requests, 5 % of them rejected"},
	{App: "h-lk-01", Family: "slow-leak", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h-lk-01-r4", "5.3.0", 5*time.Hour + 10*time.Minute}},
		Phases:      []heldPhase{{At: -5*time.Hour - 8*time.Minute, Slow: 3, Ramp: true}},
		Cause:       "deployment", Culprit: "h-lk-01-r4", Why: "latency creeps up from the deployment on to ×3 five hours later: the release leaks"},
	{App: "h-lk-02", Family: "slow-leak", Rule: "SlowResponses",
		Phases: []heldPhase{{At: -6 * time.Hour, Slow: 3.5, Ramp: true}},
		Cause:  "dependency", Why: "latency creeps up for six hours with no deployment: the application or its host, not a change or traffic"},
	{App: "h-mm-01", Family: "missing-metrics", Rule: "HighErrorRate", NoMetrics: true,
		Cause: "none", Why: "no series of the application and no deployment: nothing to name, the report must say what it looked at"},
	{App: "h-mm-02", Family: "missing-metrics", Rule: "HighErrorRate", NoMetrics: true,
		Deployments: []heldDeployment{{"h-mm-02-r9", "4.0.0", 15 * time.Minute}},
		Cause:       "deployment", Culprit: "h-mm-02-r9", Why: "no metrics to compare, but the alert fired 15 minutes after a deployment: the deployment is the suspect"},
	{App: "h-fx-01", Family: "fixing-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h-fx-01-bad", "6.1.0", 27 * time.Minute}, {"h-fx-01-fix", "6.1.1", 4 * time.Minute}},
		Phases:      []heldPhase{{At: -25 * time.Minute, Errors: 0.05}, {At: -2 * time.Minute}},
		Cause:       "deployment", Culprit: "h-fx-01-bad", Why: "errors came with 6.1.0 and went with the fix 6.1.1: the fix is not the cause"},
	{App: "h-fx-02", Family: "fixing-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h-fx-02-fix", "2.7.3", 42 * time.Minute}},
		Phases:      []heldPhase{{At: -2 * time.Hour, Errors: 0.04}, {At: -40 * time.Minute}, {At: -11 * time.Minute, Errors: 0.06}},
		Cause:       "dependency", Why: "the deployment ended an older error episode; new errors began half an hour after it with nothing changed"},
}

// shape is the case's metrics at ts for an alert at alertAt.
func (h heldOutAlert) shape(ts, alertAt time.Time) (rps, median, errShare float64) {
	rps, median, errShare = steadyShape(ts)
	var cur *heldPhase
	for i := range h.Phases {
		if !ts.Before(alertAt.Add(h.Phases[i].At)) {
			cur = &h.Phases[i]
		}
	}
	if cur == nil {
		return rps, median, errShare
	}
	if cur.Errors > 0 {
		errShare = cur.Errors
	}
	if cur.Traffic > 0 {
		rps *= cur.Traffic
	}
	if cur.Slow > 0 {
		f := cur.Slow
		if cur.Ramp {
			start := alertAt.Add(cur.At)
			p := min(1, float64(ts.Sub(start))/float64(alertAt.Sub(start)))
			f = 1 + (cur.Slow-1)*p
		}
		median *= f
	}
	return rps, median, errShare
}

// judgeHeldOut reports whether a report's summary names the labelled cause; "none" is a summary
// that claims no cause.
func judgeHeldOut(summary string, h heldOutAlert, lang string) bool {
	if h.Cause != "none" {
		return judgeCause(summary, h.Cause, h.Culprit, lang)
	}
	claims := map[string][]string{
		"en": {"Most likely cause", "look at its dependencies"},
		"ko": {"가장 유력한 원인", "의존 서비스와 인프라를 확인"},
	}[lang]
	for _, c := range claims {
		if strings.Contains(summary, c) {
			return false
		}
	}
	return true
}

// TestInvestigationHeldOut runs the held-out set like TestInvestigationCorpus (a real Prometheus
// with backfilled history, Vigil's deployment records, Alertmanager-format alerts) and prints the
// share of reports naming the labelled cause per family, in English and Korean. It fails below
// 50 %: a measurement, not a gate.
func TestInvestigationHeldOut(t *testing.T) {
	runHeldOut(t, heldOutAlerts)
}

// runHeldOut runs a held-out set: its applications' history in a real Prometheus, their
// deployments recorded by Vigil, one Alertmanager-format alert each; it logs the per-family table
// (en and ko) and the misses, and fails only below 50 %.
func runHeldOut(t *testing.T, set []heldOutAlert) {
	runHeldOutUntil(t, set, os.Getenv("VIGIL_HELDOUT_AT_START") != "")
}

// runHeldOutUntil is runHeldOut with the history ending at the alert's start when atStart.
func runHeldOutUntil(t *testing.T, set []heldOutAlert, atStart bool) {
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Minute)
	alertAt := now.Add(-2 * time.Hour)
	byApp := map[string]heldOutAlert{}
	var apps []string
	for _, h := range set {
		byApp[h.App] = h
		if !h.NoMetrics {
			apps = append(apps, h.App)
		}
	}
	om := filepath.Join(dir, "history.om")
	// The history runs to an hour after the alert, so the investigation (two hours later) sees
	// the 30 minutes after its start; VIGIL_HELDOUT_AT_START=1 ends it at the alert's start, as an
	// investigation that runs when the alert fires sees it.
	end := now.Add(-time.Hour)
	if atStart {
		end = alertAt.Add(time.Minute)
	}
	writeShapedHistory(t, om, alertSegments(alertAt, end, 8*time.Hour), apps,
		func(app string, ts time.Time) (float64, float64, float64) { return byApp[app].shape(ts, alertAt) })
	addr := startPrometheus(t, dir, promOptions{History: om})
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = "http://" + addr
		c.Alerts.GroupWindow = time.Second
	}))
	for _, h := range set {
		for _, d := range h.Deployments {
			announceFinished(t, base, d.ID, d.Version, h.App, alertAt.Add(-d.Before))
		}
	}
	for _, h := range set {
		for _, d := range h.Deployments {
			waitCaughtUp(t, base, d.ID)
		}
	}
	ids := map[string]string{}
	for _, h := range set {
		code, out, _ := post(t, base+"/v1/alerts/alertmanager", alertmanagerAlert(h.Rule, h.App, alertAt))
		require.Equal(t, http.StatusAccepted, code, string(out))
		var acc struct {
			WorkflowID string `json:"workflowId"`
		}
		require.NoError(t, json.Unmarshal(out, &acc))
		ids[h.App] = acc.WorkflowID
	}
	type tally struct{ en, ko, n int }
	byFamily := map[string]*tally{}
	var misses []string
	for _, h := range set {
		v := waitIncident(t, base, ids[h.App])
		require.Equal(t, "completed", v.Status, string(v.Details))
		var details struct {
			Investigation analyst.Investigation `json:"investigation"`
		}
		require.NoError(t, json.Unmarshal(v.Details, &details))
		al := profile.Alert{Rule: h.Rule, Application: h.App, StartsAt: alertAt, Severity: "warning"}
		en := strings.SplitN(v.Report, "\n\n", 2)[0]
		if os.Getenv("VIGIL_HELDOUT_DUMP") != "" {
			t.Logf("%s report:\n%s\ninvestigation: %s", h.App, v.Report, v.Details)
		}
		ko := analyst.WriteInvestigated(&al, &details.Investigation, "ko").Summary
		tl := byFamily[h.Family]
		if tl == nil {
			tl = &tally{}
			byFamily[h.Family] = tl
		}
		tl.n++
		want := h.Cause
		if h.Culprit != "" {
			want += " " + h.Culprit
		}
		if judgeHeldOut(en, h, "en") {
			tl.en++
		} else {
			misses = append(misses, fmt.Sprintf("%s (%s, want %s: %s) en: %s", h.App, h.Family, want, h.Why, en))
		}
		if judgeHeldOut(ko, h, "ko") {
			tl.ko++
		} else {
			misses = append(misses, fmt.Sprintf("%s (%s, want %s) ko: %s", h.App, h.Family, want, ko))
		}
	}
	var names []string
	for k := range byFamily {
		names = append(names, k)
	}
	sort.Strings(names)
	var all tally
	t.Logf("| family | en | ko |")
	t.Logf("|---|---|---|")
	for _, k := range names {
		tl := byFamily[k]
		t.Logf("| %s | %d/%d | %d/%d |", k, tl.en, tl.n, tl.ko, tl.n)
		all.en, all.ko, all.n = all.en+tl.en, all.ko+tl.ko, all.n+tl.n
	}
	t.Logf("| all | %d/%d | %d/%d |", all.en, all.n, all.ko, all.n)
	for _, m := range misses {
		t.Log("miss: " + m)
	}
	require.GreaterOrEqual(t, float64(all.en+all.ko)/float64(2*all.n), 0.5)
}

// TestInvestigationHeldOutAtStart runs the four held-out sets as an investigation that runs when
// the alert fires sees them: the metrics end at the alert's start (no minutes after it in the
// window). Same figures, same floor.
func TestInvestigationHeldOutAtStart(t *testing.T) {
	for name, set := range map[string][]heldOutAlert{"1": heldOutAlerts, "2": heldOutAlerts2, "3": heldOutAlerts3, "4": heldOutAlerts4} {
		t.Run("set"+name, func(t *testing.T) { runHeldOutUntil(t, set, true) })
	}
}
