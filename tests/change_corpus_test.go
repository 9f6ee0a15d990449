package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/tests/changecorpus"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// corpusIntervals are the scrape intervals every scenario is generated at.
var corpusIntervals = []time.Duration{15 * time.Second, 30 * time.Second, time.Minute}

// corpusOutcome is what Vigil said about one scenario at one scrape interval.
type corpusOutcome struct {
	s        changecorpus.Scenario
	scrape   time.Duration
	state    string
	kinds    []string
	findings []compare.Finding
	gate     string
	verdict  change.AppVerdict
	err      string
}

// right reports whether the verdict matches the scenario's label: the state, the metric kinds it
// must name (and none it may not), and the metrics it must report as not collected.
func (o corpusOutcome) right() (bool, string) {
	if o.err != "" {
		return false, o.err
	}
	if o.state != o.s.Want {
		return false, fmt.Sprintf("state %s, want %s", o.state, o.s.Want)
	}
	for _, k := range o.s.WantKinds {
		if !slices.Contains(o.kinds, k) {
			return false, fmt.Sprintf("kinds %v lack %s", o.kinds, k)
		}
	}
	for _, k := range o.kinds {
		if !slices.Contains(o.s.WantKinds, k) && !slices.Contains(o.s.MayKinds, k) {
			return false, fmt.Sprintf("kinds %v name %s, which did not change", o.kinds, k)
		}
	}
	for _, m := range o.s.NotCollected {
		if verdictOf(o.findings, m) != compare.NotCollected {
			return false, fmt.Sprintf("%s is %s, want NOT_COLLECTED", m, verdictOf(o.findings, m))
		}
	}
	return true, ""
}

func verdictOf(fs []compare.Finding, metric string) compare.Verdict {
	for _, f := range fs {
		if f.Metric == metric {
			return f.Verdict
		}
	}
	return "absent"
}

// loadCorpus backfills the scenarios into a real Prometheus (see changecorpus.Load); missing
// binaries are reported with testenv.Missing.
func loadCorpus(t *testing.T, anchor time.Time, scrape time.Duration, scenarios []changecorpus.Scenario) (string, func(), error) {
	for _, b := range []string{"prometheus", "promtool"} {
		if _, err := changecorpus.Binary(b); err != nil {
			testenv.Missing(t, "%v", err)
		}
	}
	return changecorpus.Load(t.TempDir(), anchor, scrape, scenarios)
}

// runCorpus announces every scenario as a deployment (numeric application IDs, as release systems
// send them) to a `vigil dev` reading the Prometheus at promURL with the default templates, sends
// its "finished" event, waits for the change tracking to finish, and returns what it said.
func runCorpus(t *testing.T, promURL string, anchor time.Time, scrape time.Duration, scenarios []changecorpus.Scenario,
	mutate func(*config.Config)) []corpusOutcome {
	t.Helper()
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Prometheus.URL = promURL
		c.ChangeTracking.Notify = config.NotifyNone
		for _, s := range scenarios {
			// The pre-deployment gate and one checkpoint, the scenario's window after the finish:
			// both are past by now, so the workflow checks them at once.
			c.ChangeTracking.Applications = append(c.ChangeTracking.Applications,
				config.ChangeApplication{Name: s.Name, Checkpoints: []time.Duration{-30 * time.Minute, s.Window}})
		}
		if mutate != nil {
			mutate(c)
		}
	}))
	ids := make([]string, len(scenarios))
	for i, s := range scenarios {
		ids[i] = fmt.Sprintf("corpus-%s-%s", s.Name, scrape)
		body := fmt.Sprintf(`{"id":%q,"plannedAt":%q,"version":"1.0.%d","applications":[{"id":%d,"name":%q}]}`,
			ids[i], changecorpus.Planned(anchor, s).Format(time.RFC3339Nano), i, 1000+i, s.Name)
		code, out, _ := post(t, base+"/v1/deployments", []byte(body))
		require.Equal(t, http.StatusAccepted, code, string(out))
		code, out, _ = post(t, base+"/v1/deployments/"+ids[i]+"/events",
			[]byte(`{"type":"finished","at":"`+changecorpus.Finish(anchor, s).Format(time.RFC3339Nano)+`"}`))
		require.Equal(t, http.StatusAccepted, code, string(out))
	}
	out := make([]corpusOutcome, len(scenarios))
	for i, s := range scenarios {
		o := corpusOutcome{s: s, scrape: scrape}
		var st workflows.DeploymentState
		require.Eventually(t, func() bool {
			st = workflows.DeploymentState{}
			getJSON(t, base+"/v1/deployments/"+ids[i], &st)
			return st.Status == "done"
		}, 3*time.Minute, 100*time.Millisecond, "deployment %s", ids[i])
		o.gate = st.Gate.Decision
		cp := st.Checkpoints[len(st.Checkpoints)-1]
		switch {
		case cp.Error != "":
			o.err = "checkpoint error: " + cp.Error
		case cp.Verdict == nil || len(cp.Verdict.Applications) != 1 || len(cp.Apps) != 1:
			o.err = "no verdict for the application"
		default:
			o.verdict = cp.Verdict.Applications[0]
			o.state, o.kinds, o.findings = o.verdict.State, o.verdict.Metric, cp.Apps[0].Findings
			require.Equal(t, fmt.Sprint(1000+i), o.verdict.ApplicationID, "the application ID as the release system sent it")
		}
		out[i] = o
	}
	return out
}

// TestChangeVerdictCorpus runs the labelled scenario corpus (tests/changecorpus: at least 30
// deployments in the tuning set plus a held-out set) at 15 s, 30 s and 60 s scrape intervals,
// each backfilled with promtool into its own real Prometheus, through the real workflow with the
// default templates. It prints accuracy per family and interval (go test -v), fails below 95 %
// overall or on any application without data judged STABLE, and checks the pre-deployment gate.
func TestChangeVerdictCorpus(t *testing.T) {
	scenarios := changecorpus.Scenarios()
	var all []corpusOutcome
	var mu sync.Mutex
	for _, scrape := range corpusIntervals {
		t.Run(scrape.String(), func(t *testing.T) {
			anchor := time.Now().UTC().Truncate(scrape)
			url, stop, err := loadCorpus(t, anchor, scrape, scenarios)
			require.NoError(t, err)
			t.Cleanup(stop)
			got := runCorpus(t, url, anchor, scrape, scenarios, nil)
			mu.Lock()
			all = append(all, got...)
			mu.Unlock()

			if scrape == time.Minute {
				// The must-shows, at a 60 s scrape with the default templates.
				for _, o := range got {
					switch o.s.Name {
					case "error-jump":
						require.Equal(t, "UNSTABLE", o.state, o.verdict.Comment)
						require.Contains(t, o.kinds, "TRANSACTION")
						require.Equal(t, compare.Degraded, verdictOf(o.findings, "error_ratio"), o.verdict.Comment)
					case "no-log-pipeline":
						require.Equal(t, "STABLE", o.state, o.verdict.Comment)
						require.Equal(t, compare.NotCollected, verdictOf(o.findings, "error_logs"))
						require.Equal(t, compare.NotCollected, verdictOf(o.findings, "fatal_logs"))
						require.Contains(t, o.verdict.Comment, "not collected")
						require.Equal(t, "proceed", o.gate, "a service without a log pipeline is not held")
					}
				}
			}
		})
	}
	if t.Failed() {
		return
	}
	report := corpusReport(all)
	t.Log("\n" + report)
	if path := os.Getenv("VIGIL_CORPUS_REPORT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(report), 0o644))
	}

	right, gateRight := 0, 0
	for _, o := range all {
		if ok, _ := o.right(); ok {
			right++
		}
		if o.gate == o.s.WantGate {
			gateRight++
		}
		if o.state == "STABLE" && len(o.findings) > 0 && !compare.Judge(o.findings).Judged {
			t.Errorf("%s at %s: STABLE without data judged", o.s.Name, o.scrape)
		}
	}
	acc := float64(right) / float64(len(all))
	gateAcc := float64(gateRight) / float64(len(all))
	t.Logf("verdicts right: %d of %d (%.1f %%); gate right: %d of %d (%.1f %%)", right, len(all), 100*acc, gateRight, len(all), 100*gateAcc)
	require.GreaterOrEqual(t, acc, 0.95, "verdict accuracy over the corpus")
	require.GreaterOrEqual(t, gateAcc, 0.95, "gate accuracy over the corpus")
}

// corpusReport is the accuracy table: per family (held-out families marked) and scrape interval,
// then the misses with what was said.
func corpusReport(all []corpusOutcome) string {
	type key struct {
		family string
		held   bool
	}
	cells := map[key]map[time.Duration][2]int{}
	var keys []key
	for _, o := range all {
		k := key{o.s.Family, o.s.HeldOut}
		if cells[k] == nil {
			cells[k] = map[time.Duration][2]int{}
			keys = append(keys, k)
		}
		c := cells[k][o.scrape]
		c[1]++
		if ok, _ := o.right(); ok {
			c[0]++
		}
		cells[k][o.scrape] = c
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].held != keys[j].held {
			return !keys[i].held
		}
		return keys[i].family < keys[j].family
	})
	var b strings.Builder
	fmt.Fprintf(&b, "| family | set | %s | all |\n|---|---|", joinIntervals(" | "))
	for range corpusIntervals {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	sets := map[bool][2]int{}
	perInterval := map[time.Duration][2]int{}
	for _, k := range keys {
		set := "tuning"
		if k.held {
			set = "held-out"
		}
		fmt.Fprintf(&b, "| %s | %s |", k.family, set)
		tot := [2]int{}
		for _, iv := range corpusIntervals {
			c := cells[k][iv]
			fmt.Fprintf(&b, " %d/%d |", c[0], c[1])
			tot[0], tot[1] = tot[0]+c[0], tot[1]+c[1]
			p := perInterval[iv]
			perInterval[iv] = [2]int{p[0] + c[0], p[1] + c[1]}
		}
		fmt.Fprintf(&b, " %d/%d |\n", tot[0], tot[1])
		s := sets[k.held]
		sets[k.held] = [2]int{s[0] + tot[0], s[1] + tot[1]}
	}
	b.WriteString("| **all** | |")
	sum := [2]int{}
	for _, iv := range corpusIntervals {
		c := perInterval[iv]
		fmt.Fprintf(&b, " %d/%d |", c[0], c[1])
		sum[0], sum[1] = sum[0]+c[0], sum[1]+c[1]
	}
	fmt.Fprintf(&b, " %d/%d |\n\n", sum[0], sum[1])
	fmt.Fprintf(&b, "tuning set: %d/%d; held-out set: %d/%d\n", sets[false][0], sets[false][1], sets[true][0], sets[true][1])
	var misses []string
	for _, o := range all {
		if ok, why := o.right(); !ok {
			misses = append(misses, fmt.Sprintf("- %s @%s (%s): %s — %s", o.s.Name, o.scrape, o.s.Family, why, o.verdict.Comment))
		}
		if o.gate != o.s.WantGate {
			misses = append(misses, fmt.Sprintf("- %s @%s gate %s, want %s", o.s.Name, o.scrape, o.gate, o.s.WantGate))
		}
	}
	if len(misses) > 0 {
		b.WriteString("\nmisses:\n" + strings.Join(misses, "\n") + "\n")
	}
	return b.String()
}

func joinIntervals(sep string) string {
	var s []string
	for _, iv := range corpusIntervals {
		s = append(s, iv.String())
	}
	return strings.Join(s, sep)
}

// appLine finds the applications in the change-tracker's prompt.
var appLine = regexp.MustCompile(`APPLICATION (\S+) \(id ([^)]*)\)`)

// TestChangeVerdictBoundsAWrongModel: the role change-tracker answered by a model (a local
// OpenAI-wire server) that calls every application STABLE. Against a real Prometheus at a 60 s
// scrape, a regression stays UNSTABLE, traffic that is gone stays UNSTABLE, a new service is not
// called healthy, and each disagreement is kept on the verdict; a healthy service stays STABLE
// with no disagreement.
func TestChangeVerdictBoundsAWrongModel(t *testing.T) {
	var scenarios []changecorpus.Scenario
	for _, name := range []string{"error-jump", "traffic-gone", "new-service", "no-log-pipeline"} {
		s, ok := changecorpus.Lookup(name)
		require.True(t, ok, name)
		scenarios = append(scenarios, s)
	}
	anchor := time.Now().UTC().Truncate(time.Minute)
	url, stop, err := loadCorpus(t, anchor, time.Minute, scenarios)
	require.NoError(t, err)
	t.Cleanup(stop)

	model := llmtest.NewServer(t)
	model.SetHandler(func(r llmtest.Received) llmtest.Reply {
		var apps []string
		var text strings.Builder
		for _, m := range r.Messages {
			text.WriteString(m.Content + "\n")
		}
		for _, m := range appLine.FindAllStringSubmatch(text.String(), -1) {
			apps = append(apps, fmt.Sprintf(`{"name":%q,"applicationId":%q,"state":"STABLE","metric":[],"comment":"all good"}`, m[1], m[2]))
		}
		return llmtest.Text(`{"applications":[` + strings.Join(apps, ",") + `],"state":"STABLE","comment":"Everything is fine."}`)
	})
	role, ok := roles.Default(workflows.ChangeRole)
	require.True(t, ok)
	role.Chain = append([]roles.Link{{Provider: "local", Model: "model-a"}}, role.Chain...)
	dir := t.TempDir()
	b, err := yaml.Marshal(role)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "change-tracker.yaml"), b, 0o600))

	got := runCorpus(t, url, anchor, time.Minute, scenarios, func(c *config.Config) {
		gatewayConfigRPM(model.URL, 0)(c)
		c.RolesDir = dir
	})
	require.Positive(t, model.Count(), "the model was asked")
	for _, o := range got {
		require.Empty(t, o.err, o.s.Name)
		require.Equal(t, o.s.Want, o.state, "%s: %s", o.s.Name, o.verdict.Disagreement)
		if o.s.Want == "STABLE" {
			require.Empty(t, o.verdict.Disagreement, o.s.Name)
			require.Equal(t, "all good", o.verdict.Comment, "the model's words are kept where it agrees")
			continue
		}
		require.Equal(t, o.s.Want, o.verdict.EngineState, o.s.Name)
		require.Contains(t, o.verdict.Disagreement, "the model answered STABLE, but the numbers say "+o.s.Want, o.s.Name)
	}
}
