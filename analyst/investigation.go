package analyst

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/promsource"
)

// Parts of an investigation, as named in PartFailure.
const (
	PartChanges = "recent changes"
	PartHealth  = "health metrics"
	PartTables  = "endpoint tables"
	PartTrace   = "exemplar traces"
	PartGitHub  = "GitHub deployments"
)

// SourceGitHub marks a Change listed by GitHub's deployments API (Vigil has no record of it).
const SourceGitHub = "github"

// Investigation is what Vigil found about an alert's application around the alert, besides its
// profile: its recent deployments, its health metrics against the 1 d and 1 w baselines (the
// change-tracking engine) and the enrichment tables of the kinds that regressed. A part that
// failed is named in Failed; the others are still used.
type Investigation struct {
	Application string `json:"application"`
	// At is when the alert started; LookBack is how far back deployments were looked for.
	At       time.Time     `json:"at"`
	LookBack time.Duration `json:"lookBack"`
	// From and To are the window whose metrics were compared with the same window 1 d and 1 w
	// earlier.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// OnsetFrom is how far back the metrics were read (not judged) to date the regression's
	// onset; zero: from From.
	OnsetFrom time.Time          `json:"onsetFrom,omitzero"`
	Changes   []Change           `json:"changes,omitempty"`
	Health    []compare.Finding  `json:"health,omitempty"`
	Tables    []promsource.Table `json:"tables,omitempty"`
	// TablesSkipped says the tables were not queried because no metric regressed.
	TablesSkipped bool `json:"tablesSkipped,omitempty"`
	// Trace is the failing (else slowest) request among the exemplars of the application's
	// latency series, its trace fetched from the trace sources and run through the detectors; nil
	// when the part was not run.
	Trace *ExemplarTrace `json:"trace,omitempty"`
	// GitHub is the repository (owner/name) whose GitHub deployments were asked for besides
	// Vigil's records; "" when none is configured for the application.
	GitHub string        `json:"github,omitempty"`
	Failed []PartFailure `json:"failed,omitempty"`
}

// ExemplarTrace is a real request of the alert's window found through an exemplar.
type ExemplarTrace struct {
	TraceID  string  `json:"traceId,omitempty"`
	Endpoint string  `json:"endpoint,omitempty"`
	Status   string  `json:"status,omitempty"` // the HTTP status code of the exemplar's series
	Failing  bool    `json:"failing,omitempty"`
	ValueMs  float64 `json:"valueMs,omitempty"`
	Facts    []Fact  `json:"facts,omitempty"`
	// Note says why there is no trace (no exemplars, no trace source, not found).
	Note string `json:"note,omitempty"`
}

// topTraceFact is the trace's most serious fact (warning or above), if any.
func (inv *Investigation) topTraceFact() (Fact, bool) {
	if inv.Trace == nil {
		return Fact{}, false
	}
	for _, f := range sortFacts(inv.Trace.Facts) {
		if f = usable(f); f.Severity >= SeverityWarning {
			return f, true
		}
	}
	return Fact{}, false
}

// traceEvidence is the trace's top finding in a language: "the failing trace 4bf92f35 (POST
// /api/checkout): Slow SQL: ...".
func traceEvidence(inv *Investigation, lang string) string {
	f, ok := inv.topTraceFact()
	if !ok {
		return ""
	}
	id := inv.Trace.TraceID
	if len(id) > 8 {
		id = id[:8]
	}
	// The finding's first sentence: the statement or stack that may follow is for the profile's
	// own report.
	text, _, _ := strings.Cut(phrasesFor(lang).analysis(newView(&profile.Alert{}), f), ". ")
	text = strings.TrimSuffix(text, ".")
	if lang == LangKorean {
		kind := "가장 느린"
		if inv.Trace.Failing {
			kind = "실패한"
		}
		return fmt.Sprintf("%s 트레이스 %s(%s): %s", kind, id, inv.Trace.Endpoint, text)
	}
	kind := "slowest"
	if inv.Trace.Failing {
		kind = "failing"
	}
	return fmt.Sprintf("the %s trace %s (%s): %s", kind, id, inv.Trace.Endpoint, text)
}

// PartFailure is a part of the investigation that could not be had, and why.
type PartFailure struct {
	Part  string `json:"part"`
	Error string `json:"error"`
}

// Change is one of Vigil's deployment records of the application and its latest verdict, or a
// deployment GitHub lists that Vigil has no record of (Source "github").
type Change struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	// Source is SourceGitHub for a deployment read from GitHub's API, "" for Vigil's own record.
	Source string `json:"source,omitempty"`
	// At is when the change took effect: its finish, else its start, else its planned time.
	At time.Time `json:"at"`
	// StartedAt is when a rollout that finished at At began (zero: not known): errors a
	// deployment causes begin during its rollout.
	StartedAt time.Time `json:"startedAt,omitzero"`
	Status    string    `json:"status"` // Vigil's tracking status, or GitHub's latest deployment state
	// SHA is a GitHub deployment's commit (Vigil's records made from GitHub's webhooks carry it
	// as their version).
	SHA string `json:"sha,omitempty"`
	// Description is a GitHub deployment's description.
	Description string `json:"description,omitempty"`
	// State, Checkpoint and Comment are the latest verdict (empty: no checkpoint judged yet).
	State      string   `json:"state,omitempty"`
	Checkpoint string   `json:"checkpoint,omitempty"`
	Comment    string   `json:"comment,omitempty"`
	Metrics    []string `json:"metrics,omitempty"`
}

// failed returns the failure of a part, if any.
func (inv *Investigation) failed(part string) (PartFailure, bool) {
	for _, f := range inv.Failed {
		if f.Part == part {
			return f, true
		}
	}
	return PartFailure{}, false
}

// finding is a health finding ready for the report.
type finding struct {
	metric   string
	cur      float64
	day, wk  *float64
	verdict  compare.Verdict
	relDay   float64
	relWeek  float64
	haveBase bool
}

// conclusion is what the investigation points at.
type conclusion struct {
	start      time.Time
	change     *Change // the latest deployment that took effect before the alert
	suspect    *Change // change, when it can be the cause (see relatedChange)
	later      []Change
	degraded   []finding
	surge      *finding // traffic well above both baselines
	checked    []string // metrics compared
	missing    []string // summaries of metrics that could not be judged
	failing    *promsource.Row
	slowest    *promsource.Row
	newErrors  []promsource.Row
	healthRead bool // some metric could be compared
	// onset is when the regression behind the alert began, dated from the metrics' episodes
	// (nil: not seen in the window); episode is the metric whose episode began first.
	onset     *time.Time
	episode   *finding
	episodeTo time.Time
	// cleared is the deployment that preceded the onset but not taken for its cause: the
	// metrics were in line with their baselines from calmFrom (after it) for calmFor, until the
	// onset.
	cleared  *Change
	calmFor  time.Duration
	calmFrom time.Time
	// slack is how long after the onset a finished deployment still preceded it (onsetSlack;
	// more for a ramp); underWay is set when the regression was already under way as the data
	// read for dating begin (its onset is earlier still, not dated).
	slack    time.Duration
	underWay *time.Time
}

// metricOrder ranks the health metrics for naming the cause: what the alert is about first.
func metricOrder(alert *profile.Alert) func(a, b finding) int {
	text := strings.ToLower(alert.Rule + " " + alert.Message)
	wantErr := strings.Contains(text, "error") || strings.Contains(text, "5xx") || strings.Contains(text, "fail")
	wantLat := strings.Contains(text, "latency") || strings.Contains(text, "slow") || strings.Contains(text, "duration")
	rank := func(f finding) int {
		switch {
		case wantErr && strings.Contains(f.metric, "error"):
			return 0
		case wantLat && strings.Contains(f.metric, "latency"):
			return 0
		case f.metric == "error_ratio":
			return 1
		case strings.HasPrefix(f.metric, "latency"):
			return 2
		case f.metric == "throughput":
			return 3
		}
		return 4
	}
	// Among latencies the higher percentile first: it is what latency alerts are written on.
	pctl := map[string]int{"latency_p99": 0, "latency_p95": 1, "latency_p90": 2, "latency_p50": 3}
	return func(a, b finding) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(pctl[a.metric], pctl[b.metric]))
	}
}

func conclude(alert *profile.Alert, inv *Investigation) conclusion {
	c := conclusion{start: cmp.Or(alert.StartsAt, inv.At)}
	if c.start.IsZero() {
		c.start = inv.To
	}
	for i := range inv.Changes {
		ch := inv.Changes[i]
		if ch.At.After(c.start) {
			c.later = append(c.later, ch)
			continue
		}
		if c.change == nil || ch.At.After(c.change.At) {
			c.change = &inv.Changes[i]
		}
	}
	for _, f := range inv.Health {
		switch f.Verdict {
		case compare.MissingData:
			c.missing = append(c.missing, f.Summary)
			continue
		case compare.NotCollected:
			continue
		}
		if f.Kind == "ALERT" {
			continue // the alert itself fires in the window: not a finding about its cause
		}
		c.healthRead = true
		c.checked = append(c.checked, f.Metric)
		fd := finding{metric: f.Metric, cur: f.CurrentMedian, verdict: f.Verdict}
		for _, b := range f.Baselines {
			m := b.Median
			switch b.Name {
			case "1d":
				fd.day, fd.relDay, fd.haveBase = &m, b.RelChange, true
			case "1w":
				fd.wk, fd.relWeek, fd.haveBase = &m, b.RelChange, true
			}
		}
		switch {
		case f.Verdict == compare.Degraded:
			c.degraded = append(c.degraded, fd)
		case f.Metric == "throughput" && fd.haveBase && (fd.day == nil || fd.relDay >= 1) && (fd.wk == nil || fd.relWeek >= 1):
			c.surge = &fd
		}
	}
	c.dateOnset(inv)
	c.suspect = c.suspectChange(inv)
	if c.surge == nil {
		c.surge = c.surgeEpisode(inv)
	}
	slices.SortStableFunc(c.degraded, metricOrder(alert))
	for _, t := range inv.Tables {
		rows := slices.Clone(t.Rows)
		slices.SortStableFunc(rows, func(a, b promsource.Row) int { return cmp.Compare(b.Current, a.Current) })
		switch t.Name {
		case "top_failing_endpoints":
			if len(rows) > 0 && rows[0].Current > 0 {
				c.failing = &rows[0]
			}
		case "slowest_endpoints":
			if len(rows) > 0 && rows[0].Current > 0 {
				c.slowest = &rows[0]
			}
		case "new_error_groups":
			for _, r := range rows {
				if r.New && r.Current > 0 && len(c.newErrors) < 3 {
					c.newErrors = append(c.newErrors, r)
				}
			}
		}
	}
	return c
}

// relatedWindow is how long before an alert a deployment is taken for its cause whatever its
// checks said.
const relatedWindow = time.Hour

// relatedChange reports whether a deployment before the alert can be its cause: it took effect
// within relatedWindow of the alert's start, or its own checks found it UNSTABLE (or have not
// judged it yet). A deployment hours before whose checkpoints since judged it STABLE is not what
// started the alert, nor is one they could only call MOSTLY_STABLE (missing data, log metrics):
// hours later, that is no evidence against it.
func relatedChange(ch Change, start time.Time) bool {
	return start.Sub(ch.At) <= relatedWindow || ch.State == "UNSTABLE" || ch.State == ""
}

// Dating the regression: an episode counts for the alert when it ended at most episodeBeforeAlert
// before the alert's start (an alert fires after its condition held for a while) and began by
// onsetSlack after it. A deployment that finished up to onsetSlack after the onset still preceded
// the regression (a rollout's errors begin before it finishes). A deployment followed by at least
// calmToClear of metrics in line with their baselines before the onset did not cause it.
const (
	episodeBeforeAlert = 10 * time.Minute
	onsetSlack         = 2 * time.Minute
	calmToClear        = 10 * time.Minute
)

// dateOnset dates the regression behind the alert from the health findings' episodes (see
// compare.Episode): the earliest start among the episodes around the alert, when every one of
// them shows a calm stretch before it (else the regression began before the window and is not
// dated).
func (c *conclusion) dateOnset(inv *Investigation) {
	var onset time.Time
	for _, f := range inv.Health {
		if f.Kind == "ALERT" || f.Verdict == compare.MissingData || f.Verdict == compare.NotCollected {
			continue
		}
		for _, e := range f.Episodes {
			if e.Surge || e.To.Before(c.start.Add(-episodeBeforeAlert)) || e.From.After(c.start.Add(onsetSlack)) {
				continue
			}
			if e.CalmFrom == nil {
				// Its start is not seen; when it was under way as the data begin, no deployment
				// after that started it.
				if !inv.OnsetFrom.IsZero() && !e.From.After(inv.OnsetFrom.Add(time.Minute)) {
					t := inv.OnsetFrom
					c.underWay = &t
				}
				c.onset = nil
				return
			}
			if onset.IsZero() || e.From.Before(onset) {
				onset = e.From
				c.episode = &finding{metric: f.Metric}
				c.episodeTo = e.To
				c.slack = onsetSlack
				if e.Ramp {
					// A ramp's start is fitted, not seen: allow a tenth of its length.
					c.slack = max(onsetSlack, e.To.Sub(e.From)/10)
				}
			}
		}
	}
	if !onset.IsZero() {
		c.onset = &onset
	}
}

// suspectChange is the deployment that can have caused the alert. With a dated onset: the latest
// deployment that took effect or was rolling out by it (onsetSlack allowed), unless the metrics stayed calm for
// calmToClear between it and the onset; else relatedChange of the latest deployment before the
// alert.
func (c *conclusion) suspectChange(inv *Investigation) *Change {
	if c.onset == nil && c.underWay == nil {
		if c.change != nil && relatedChange(*c.change, c.start) {
			return c.change
		}
		return nil
	}
	if c.onset == nil {
		// Under way before the data: only a deployment before that can have started it.
		if cand := c.preceding(inv, *c.underWay, onsetSlack); cand != nil && relatedChange(*cand, c.start) {
			return cand
		}
		return nil
	}
	onset := *c.onset
	cand := c.preceding(inv, onset, c.slack)
	if cand == nil {
		return nil
	}
	since, floor := cand.At, inv.From
	if !inv.OnsetFrom.IsZero() && inv.OnsetFrom.Before(floor) {
		floor = inv.OnsetFrom
	}
	if since.Before(floor) {
		since = floor
	}
	// An episode that ended after the deployment (the one it fixed, say) starts the calm later.
	for _, f := range inv.Health {
		for _, e := range f.Episodes {
			if !e.Surge && e.To.Before(onset) && e.To.After(since) {
				since = e.To.Add(time.Minute)
			}
		}
	}
	if calm := onset.Sub(since); calm >= calmToClear && c.calmSince(inv, since, onset) {
		c.cleared, c.calmFor, c.calmFrom = cand, calm, since
		return nil
	}
	if !relatedChange(*cand, onset) {
		return nil
	}
	return cand
}

// surgeBeforeOnset is how long after the regression's onset a traffic surge may begin and still
// be taken for its cause (the rate windows smear both).
const surgeBeforeOnset = 5 * time.Minute

// surgeEpisode is a traffic surge around the alert (an episode of the traffic at least twice its
// baselines) that began by the regression's onset, as a finding over the surge: a window's
// medians miss a surge that began in its last minutes, as the alert's do when it is investigated
// at once.
func (c *conclusion) surgeEpisode(inv *Investigation) *finding {
	for _, f := range inv.Health {
		for _, e := range f.Episodes {
			if !e.Surge || e.To.Before(c.start.Add(-episodeBeforeAlert)) || e.From.After(c.start.Add(onsetSlack)) {
				continue
			}
			if c.onset != nil && e.From.After(c.onset.Add(surgeBeforeOnset)) {
				continue
			}
			return &finding{metric: f.Metric, cur: e.Level, day: e.Day, wk: e.Week, haveBase: e.Day != nil || e.Week != nil}
		}
	}
	return nil
}

// preceding is the latest deployment that had finished by t (slack allowed, for a rollout whose
// start is not known) or was under way at it: the one that can have started what began at t.
func (c *conclusion) preceding(inv *Investigation, t time.Time, slack time.Duration) *Change {
	var cand *Change
	for i := range inv.Changes {
		ch := &inv.Changes[i]
		preceded := !ch.At.After(t.Add(slack)) || (!ch.StartedAt.IsZero() && ch.StartedAt.Before(t))
		if preceded && (cand == nil || ch.At.After(cand.At)) {
			cand = ch
		}
	}
	return cand
}

// calmSince reports whether every compared metric was in line with its baselines from since
// (a minute's tolerance) to the onset: no episode of any metric overlaps it, and the episodes
// that begin at the onset show their calm stretch reaching back to since. The calm is said
// "after it" of the deployment even when an episode it ended came first.
func (c *conclusion) calmSince(inv *Investigation, since, onset time.Time) bool {
	for _, f := range inv.Health {
		if f.Kind == "ALERT" || f.Verdict == compare.MissingData || f.Verdict == compare.NotCollected {
			continue
		}
		for _, e := range f.Episodes {
			if e.Surge {
				continue
			}
			if e.From.Before(onset) && !e.To.Before(since) {
				return false
			}
			if !e.From.Before(onset) && !e.From.After(c.start.Add(onsetSlack)) &&
				(e.CalmFrom == nil || e.CalmFrom.After(since.Add(time.Minute))) {
				return false
			}
		}
	}
	return true
}

// errorsRegressed reports whether an error metric regressed: only then is the top failing
// endpoint evidence for the summary.
func (c conclusion) errorsRegressed() bool {
	for _, f := range c.degraded {
		if strings.Contains(f.metric, "error") {
			return true
		}
	}
	return false
}

// metricValue formats a health metric's value in its unit.
func metricValue(metric string, v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case strings.Contains(metric, "ratio"):
		p := v * 100
		if p != 0 && math.Abs(p) < 10 {
			return strconv.FormatFloat(round1(p), 'f', 1, 64) + " %"
		}
		return strconv.FormatFloat(math.Round(p), 'f', 0, 64) + " %"
	case strings.HasPrefix(metric, "latency"):
		return ms(v * 1000)
	case metric == "throughput":
		return strconv.FormatFloat(round1(v), 'f', -1, 64) + " req/s"
	case strings.HasSuffix(metric, "_logs"):
		return strconv.FormatFloat(round1(v*60), 'f', -1, 64) + "/min"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// endpoint names a table row by its method and route.
func endpoint(r promsource.Row) string {
	return strings.TrimSpace(cmp.Or(r.Labels["http_request_method"], r.Labels["method"]) + " " +
		cmp.Or(r.Labels["http_route"], r.Labels["route"], r.Labels["endpoint"], r.Labels["path"], "?"))
}

// errorGroup names a row of the error-group table.
func errorGroup(r promsource.Row) string {
	return cmp.Or(r.Labels["exception_type"], r.Labels["error_type"], "?") + " (" + cmp.Or(r.Labels["severity"], "ERROR") + ")"
}

func count(v float64) string { return num(int(math.Round(v))) }

// InvestigationPrompt is the investigation as plain text for an LLM role, appended to
// FactsPrompt. It does not mask anything.
func InvestigationPrompt(alert *profile.Alert, inv *Investigation) string {
	if inv == nil {
		return ""
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("INVESTIGATION of %s (the alert carries %s)", inv.Application, map[bool]string{true: "a profile", false: "no profile"}[alert != nil && alert.Profile != nil])
	recorders := "Vigil"
	if inv.GitHub != "" {
		recorders = "Vigil or GitHub " + inv.GitHub
	}
	if f, ok := inv.failed(PartChanges); ok {
		line("Recent changes: Vigil's records could not be read (%s)", f.Error)
	}
	if f, ok := inv.failed(PartGitHub); ok {
		line("Recent changes: GitHub %s could not be read (%s)", inv.GitHub, f.Error)
	}
	if _, vigilFailed := inv.failed(PartChanges); len(inv.Changes) == 0 && !vigilFailed {
		line("Recent changes: no deployment of %s recorded by %s from %s to %s", inv.Application, recorders,
			inv.At.Add(-inv.LookBack).UTC().Format(time.RFC3339), inv.To.UTC().Format(time.RFC3339))
	}
	for _, ch := range inv.Changes {
		rel := "before"
		d := inv.At.Sub(ch.At)
		if d < 0 {
			rel, d = "after", -d
		}
		if ch.Source == SourceGitHub {
			line("GitHub deployment %s (version %s, commit %s) of %s took effect %s (%s %s the alert started), state %s: %s",
				ch.ID, cmp.Or(ch.Version, "unknown"), cmp.Or(ch.SHA, "unknown"), inv.GitHub, ch.At.UTC().Format(time.RFC3339),
				d.Round(time.Minute), rel, ch.Status, oneLine(ch.Description))
			continue
		}
		line("Deployment %s (version %s) took effect %s (%s %s the alert started), status %s, latest verdict %s at %s: %s",
			ch.ID, cmp.Or(ch.Version, "unknown"), ch.At.UTC().Format(time.RFC3339), d.Round(time.Minute), rel,
			ch.Status, cmp.Or(ch.State, "none yet"), cmp.Or(ch.Checkpoint, "-"), oneLine(ch.Comment))
	}
	line("Health metrics %s to %s against the same window 1 day and 1 week earlier:", inv.From.UTC().Format(time.RFC3339), inv.To.UTC().Format(time.RFC3339))
	if f, ok := inv.failed(PartHealth); ok {
		line("- could not be compared (%s)", f.Error)
	}
	if !inv.OnsetFrom.IsZero() {
		line("(Minute by minute from %s, read but not judged, to date when a change began: the episodes below.)", inv.OnsetFrom.UTC().Format(time.RFC3339))
	}
	for _, f := range inv.Health {
		line("- [%s] %s %s: %s", f.Kind, f.Metric, f.Verdict, oneLine(f.Summary))
		for _, e := range f.Episodes {
			what := "worse than both baselines"
			if e.Surge {
				what = "a traffic surge, at least twice both baselines"
			}
			seen := "its start not seen (already so when the data begin, or no calm stretch before it)"
			if e.CalmFrom != nil {
				seen = "in line with the baselines from " + e.CalmFrom.UTC().Format(time.RFC3339) + " until then"
			}
			ramp := ""
			if e.Ramp {
				ramp = ", creeping up (its start fitted)"
			}
			line("  episode: %s from %s to %s%s, median %s (1d %s, 1w %s); %s", what, e.From.UTC().Format(time.RFC3339),
				e.To.UTC().Format(time.RFC3339), ramp, strconv.FormatFloat(e.Level, 'g', 4, 64), fmtOpt(e.Day), fmtOpt(e.Week), seen)
		}
	}
	if f, ok := inv.failed(PartTrace); ok {
		line("Exemplar traces: could not be read (%s)", f.Error)
	}
	if tr := inv.Trace; tr != nil {
		if tr.TraceID == "" {
			line("Exemplar traces: %s", tr.Note)
		} else {
			line("Exemplar trace %s (%s, status %s, %s, failing %v), its profile's findings:", tr.TraceID, tr.Endpoint, cmp.Or(tr.Status, "?"), ms(tr.ValueMs), tr.Failing)
			for _, f := range sortFacts(tr.Facts) {
				line("- [%s] %s", f.Kind, oneLine(f.Summary))
			}
			if tr.Note != "" {
				line("(%s)", tr.Note)
			}
		}
	}
	if f, ok := inv.failed(PartTables); ok {
		line("Endpoint tables: could not be queried (%s)", f.Error)
	}
	for _, t := range inv.Tables {
		line("Table %s:", cmp.Or(t.Title, t.Name))
		rows := slices.Clone(t.Rows)
		slices.SortStableFunc(rows, func(a, b promsource.Row) int { return cmp.Compare(b.Current, a.Current) })
		for _, r := range rows[:min(5, len(rows))] {
			keys := make([]string, 0, len(r.Labels))
			for k := range r.Labels {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, k+"="+r.Labels[k])
			}
			base := func(p *float64) string {
				if p == nil {
					return "none"
				}
				return strconv.FormatFloat(*p, 'g', 4, 64)
			}
			line("- %s: %s (1d %s, 1w %s%s)", strings.Join(parts, ", "), strconv.FormatFloat(r.Current, 'g', 4, 64),
				base(r.Day), base(r.Week), map[bool]string{true: ", new", false: ""}[r.New])
		}
	}
	return b.String()
}

// fmtOpt formats an optional number for the prompt ("none" when nil).
func fmtOpt(p *float64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatFloat(*p, 'g', 4, 64)
}

// investigationPhrases writes the sentences of an investigated report in one language.
type investigationPhrases interface {
	metricName(m string) string
	checkedLine(v view, inv *Investigation) string
	summary(v view, inv *Investigation, c conclusion) string
	changes(v view, inv *Investigation, c conclusion) string
	health(v view, inv *Investigation, c conclusion) string
	tables(v view, inv *Investigation, c conclusion) string
	actions(v view, inv *Investigation, c conclusion) []string
}

func investigationPhrasesFor(lang string) investigationPhrases {
	if lang == LangKorean {
		return koreanInvestigation{}
	}
	return englishInvestigation{}
}

// WriteInvestigated is the built-in analyst's report for an alert without a profile, from what
// the investigation found: the summary names the most likely cause with its evidence (the
// deployment that preceded the alert, the metric that regressed against both baselines, the top
// failing endpoint), or says what was checked when nothing points anywhere. The report keeps the
// four sections.
func WriteInvestigated(alert *profile.Alert, inv *Investigation, lang string) Report {
	lang = NormalizeLanguage(lang)
	if alert == nil {
		alert = &profile.Alert{}
	}
	v := newView(alert)
	ph := investigationPhrasesFor(lang)
	c := conclude(alert, inv)
	r := Report{Language: lang, Transaction: append(phrasesFor(lang).transaction(v), alertLines(alert, lang)...)}
	r.Transaction = append(r.Transaction, ph.checkedLine(v, inv))
	r.Summary = oneLine(ph.summary(v, inv, c))
	for _, s := range []string{ph.changes(v, inv, c), ph.health(v, inv, c), ph.tables(v, inv, c)} {
		if s != "" && len(r.Analysis) < MaxAnalysisPoints {
			r.Analysis = append(r.Analysis, oneLine(s))
		}
	}
	for _, a := range ph.actions(v, inv, c) {
		if a != "" && len(r.Actions) < MaxActions && !slices.Contains(r.Actions, oneLine(a)) {
			r.Actions = append(r.Actions, oneLine(a))
		}
	}
	for i := range r.Transaction {
		r.Transaction[i] = oneLine(r.Transaction[i])
	}
	return r
}

// minutesBetween is the whole minutes from a to b (at least 0).
func minutesBetween(a, b time.Time) int {
	return max(0, int(math.Round(b.Sub(a).Minutes())))
}

// lookBack formats the look-back as hours (or minutes below an hour).
func lookBack(d time.Duration) string {
	if d >= time.Hour {
		return strconv.FormatFloat(round1(d.Hours()), 'f', -1, 64) + " h"
	}
	return strconv.Itoa(int(d.Round(time.Minute)/time.Minute)) + " min"
}

// clip shortens s to at most n runes, ending in "…" when cut.
func clip(s string, n int) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > n {
		return strings.TrimSpace(string(r[:n-1])) + "…"
	}
	return s
}
