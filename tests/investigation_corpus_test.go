package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
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

// metricAlert is one labelled metric-only alert of the investigation corpus: an application whose
// metrics change at Regress (relative to the alert's start) in the way its situation does, with a
// deployment that finished at Deployed before the alert (0: none), and the cause its report must
// name.
type metricAlert struct {
	App       string
	Situation string // bad-deployment, unrelated-deployment, dependency-outage, traffic-spike
	Regress   time.Duration
	Deployed  time.Duration
	Errors    bool    // the 5xx share grows from 0.5 % to 4 %
	Slow      float64 // the latency's median is multiplied by this (0: unchanged)
	Traffic   float64 // the request rate is multiplied by this (0: unchanged)
	Rule      string
	Cause     string // deployment, dependency, traffic
}

// metricAlerts is the labelled set, written before the test ran against it.
var metricAlerts = []metricAlert{
	{App: "bd-01", Situation: "bad-deployment", Deployed: 12 * time.Minute, Errors: true, Rule: "HighErrorRate", Cause: "deployment"},
	{App: "bd-02", Situation: "bad-deployment", Deployed: 15 * time.Minute, Slow: 3, Rule: "HighLatency", Cause: "deployment"},
	{App: "bd-03", Situation: "bad-deployment", Deployed: 20 * time.Minute, Errors: true, Slow: 2, Rule: "HighErrorRate", Cause: "deployment"},
	{App: "bd-04", Situation: "bad-deployment", Deployed: 25 * time.Minute, Errors: true, Rule: "HighErrorRate", Cause: "deployment"},
	{App: "bd-05", Situation: "bad-deployment", Deployed: 30 * time.Minute, Slow: 4, Rule: "SlowResponses", Cause: "deployment"},
	{App: "bd-06", Situation: "bad-deployment", Deployed: 45 * time.Minute, Errors: true, Rule: "HighErrorRate", Cause: "deployment"},
	{App: "ud-01", Situation: "unrelated-deployment", Deployed: 5 * time.Hour, Regress: 15 * time.Minute, Errors: true, Rule: "HighErrorRate", Cause: "dependency"},
	{App: "ud-02", Situation: "unrelated-deployment", Deployed: 4*time.Hour + 30*time.Minute, Regress: 15 * time.Minute, Slow: 3, Rule: "HighLatency", Cause: "dependency"},
	{App: "ud-03", Situation: "unrelated-deployment", Deployed: 5*time.Hour + 30*time.Minute, Regress: 20 * time.Minute, Errors: true, Slow: 2, Rule: "HighErrorRate", Cause: "dependency"},
	{App: "ud-04", Situation: "unrelated-deployment", Deployed: 4 * time.Hour, Regress: 15 * time.Minute, Errors: true, Rule: "HighErrorRate", Cause: "dependency"},
	{App: "ud-05", Situation: "unrelated-deployment", Deployed: 3 * time.Hour, Regress: 12 * time.Minute, Slow: 4, Rule: "SlowResponses", Cause: "dependency"},
	{App: "do-01", Situation: "dependency-outage", Regress: 15 * time.Minute, Errors: true, Slow: 3, Rule: "HighErrorRate", Cause: "dependency"},
	{App: "do-02", Situation: "dependency-outage", Regress: 12 * time.Minute, Errors: true, Rule: "HighErrorRate", Cause: "dependency"},
	{App: "do-03", Situation: "dependency-outage", Regress: 20 * time.Minute, Slow: 5, Rule: "HighLatency", Cause: "dependency"},
	{App: "do-04", Situation: "dependency-outage", Regress: 15 * time.Minute, Errors: true, Slow: 2, Rule: "UpstreamErrors", Cause: "dependency"},
	{App: "do-05", Situation: "dependency-outage", Regress: 25 * time.Minute, Slow: 3, Rule: "SlowResponses", Cause: "dependency"},
	{App: "do-06", Situation: "dependency-outage", Regress: 15 * time.Minute, Errors: true, Rule: "HighErrorRate", Cause: "dependency"},
	{App: "ts-01", Situation: "traffic-spike", Regress: 15 * time.Minute, Traffic: 3, Slow: 2, Rule: "HighLatency", Cause: "traffic"},
	{App: "ts-02", Situation: "traffic-spike", Regress: 20 * time.Minute, Traffic: 4, Slow: 3, Rule: "SlowResponses", Cause: "traffic"},
	{App: "ts-03", Situation: "traffic-spike", Regress: 15 * time.Minute, Traffic: 3, Errors: true, Rule: "HighErrorRate", Cause: "traffic"},
	{App: "ts-04", Situation: "traffic-spike", Regress: 12 * time.Minute, Traffic: 5, Slow: 2, Errors: true, Rule: "HighErrorRate", Cause: "traffic"},
	{App: "ts-05", Situation: "traffic-spike", Regress: 15 * time.Minute, Deployed: 5 * time.Hour, Traffic: 3, Slow: 3, Rule: "HighLatency", Cause: "traffic"},
}

// regressAt is when the application's metrics change: shortly after its deployment for a bad
// deployment, else Regress before the alert.
func (m metricAlert) regressAt(alertAt time.Time) time.Time {
	if m.Situation == "bad-deployment" {
		return alertAt.Add(-m.Deployed + 2*time.Minute)
	}
	return alertAt.Add(-m.Regress)
}

// corpusShape is the corpus application's metrics at ts: its steady day, changed from regressAt on
// the way its situation does.
func (m metricAlert) shape(ts, alertAt time.Time) (rps, median, errShare float64) {
	rps, median, errShare = steadyShape(ts)
	if !ts.Before(m.regressAt(alertAt)) {
		if m.Errors {
			errShare = 0.04
		}
		if m.Slow > 0 {
			median *= m.Slow
		}
		if m.Traffic > 0 {
			rps *= m.Traffic
		}
	}
	return rps, median, errShare
}

// judgeCause reports whether a report's summary names the labelled cause.
func judgeCause(summary, cause, deployment, lang string) bool {
	want := map[string]map[string]string{
		"en": {"deployment": "Most likely cause: the deployment " + deployment, "dependency": "look at its dependencies", "traffic": "Most likely cause: the traffic surge"},
		"ko": {"deployment": "가장 유력한 원인은 배포 " + deployment, "dependency": "의존 서비스와 인프라를 확인", "traffic": "가장 유력한 원인은 트래픽 급증"},
	}[lang][cause]
	return strings.Contains(summary, want)
}

// TestInvestigationCorpus runs the labelled metric-only alerts through a real Prometheus, Vigil's
// deployment records and Alertmanager-format alerts, and prints the share whose report names the
// right cause, in English (the report as written) and Korean (the built-in analyst's report from
// the same stored investigation). It fails below 80 %: a measurement, not a gate.
func TestInvestigationCorpus(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Minute)
	alertAt := now.Add(-2 * time.Hour)
	byApp := map[string]metricAlert{}
	var apps []string
	for _, m := range metricAlerts {
		byApp[m.App] = m
		apps = append(apps, m.App)
	}
	om := filepath.Join(dir, "history.om")
	writeShapedHistory(t, om, alertSegments(alertAt, now.Add(-time.Hour), 7*time.Hour), apps,
		func(app string, ts time.Time) (float64, float64, float64) { return byApp[app].shape(ts, alertAt) })
	addr := startPrometheus(t, dir, promOptions{History: om})

	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = "http://" + addr
		c.Alerts.GroupWindow = time.Second
	}))
	for _, m := range metricAlerts {
		if m.Deployed > 0 {
			announceFinished(t, base, "rel-"+m.App, "1.0.1", m.App, alertAt.Add(-m.Deployed))
		}
	}
	for _, m := range metricAlerts {
		if m.Deployed > 0 {
			waitCaughtUp(t, base, "rel-"+m.App)
		}
	}

	ids := map[string]string{}
	for _, m := range metricAlerts {
		code, out, _ := post(t, base+"/v1/alerts/alertmanager", alertmanagerAlert(m.Rule, m.App, alertAt))
		require.Equal(t, http.StatusAccepted, code, string(out))
		var acc struct {
			WorkflowID string `json:"workflowId"`
		}
		require.NoError(t, json.Unmarshal(out, &acc))
		ids[m.App] = acc.WorkflowID
	}
	type tally struct{ en, ko, n int }
	bySituation := map[string]*tally{}
	var misses []string
	for _, m := range metricAlerts {
		v := waitIncident(t, base, ids[m.App])
		require.Equal(t, "completed", v.Status, string(v.Details))
		var details struct {
			Investigation analyst.Investigation `json:"investigation"`
		}
		require.NoError(t, json.Unmarshal(v.Details, &details))
		al := profile.Alert{Rule: m.Rule, Application: m.App, StartsAt: alertAt, Severity: "warning"}
		en := strings.SplitN(v.Report, "\n\n", 2)[0]
		ko := analyst.WriteInvestigated(&al, &details.Investigation, "ko").Summary
		tl := bySituation[m.Situation]
		if tl == nil {
			tl = &tally{}
			bySituation[m.Situation] = tl
		}
		tl.n++
		if judgeCause(en, m.Cause, "rel-"+m.App, "en") {
			tl.en++
		} else {
			misses = append(misses, fmt.Sprintf("%s (%s, want %s) en: %s", m.App, m.Situation, m.Cause, en))
		}
		if judgeCause(ko, m.Cause, "rel-"+m.App, "ko") {
			tl.ko++
		} else {
			misses = append(misses, fmt.Sprintf("%s (%s, want %s) ko: %s", m.App, m.Situation, m.Cause, ko))
		}
	}
	var names []string
	for k := range bySituation {
		names = append(names, k)
	}
	sort.Strings(names)
	var all tally
	t.Logf("| situation | en | ko |")
	t.Logf("|---|---|---|")
	for _, k := range names {
		tl := bySituation[k]
		t.Logf("| %s | %d/%d | %d/%d |", k, tl.en, tl.n, tl.ko, tl.n)
		all.en, all.ko, all.n = all.en+tl.en, all.ko+tl.ko, all.n+tl.n
	}
	t.Logf("| all | %d/%d | %d/%d |", all.en, all.n, all.ko, all.n)
	for _, m := range misses {
		t.Log("miss: " + m)
	}
	require.GreaterOrEqual(t, float64(all.en+all.ko)/float64(2*all.n), 0.8)
}
