package compare

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Direction says which way of change is bad for a metric.
type Direction int

const (
	HigherIsWorse Direction = iota // errors, latency, error logs, alerts
	LowerIsWorse                   // e.g. success ratio
	Neutral                        // throughput: a change is reported, never judged bad by itself
)

// Metric is one metric's per-minute series: the window after the change and
// its baselines (nil/empty = no series).
type Metric struct {
	Name      string // e.g. "latency_p95", "error_ratio", "throughput"
	Kind      string // TRANSACTION | ALERT | ISSUE  (the verdict schema's metric names)
	Direction Direction
	Current   []float64 // per-minute values after the change; NaN entries are missing points
	Day       []float64 // same window 24 h earlier
	Week      []float64 // same window 7 days earlier
	// MinRelChange and MinAbsChange are the smallest changes of the median that count as
	// material for this metric (0: Options.MinRelChange, and no absolute minimum). A change must
	// be significant and material against a baseline to make it worse or better.
	MinRelChange float64
	MinAbsChange float64
	// Invalid, when set, says why this metric could not be queried properly (e.g. a template whose
	// rate window is shorter than four scrape intervals): the metric is missing data, with this
	// reason.
	Invalid string
	// Before is the metric just before the change, and BeforeDay and BeforeWeek the same window
	// a day and a week earlier (empty: not known, e.g. for a pre-deployment check). A regression
	// of the change must have grown at the change: a metric that was already as far from its
	// baselines before the change as after it (a drift, an earlier incident) is not this
	// change's doing. Comparing each window with its own baselines keeps daily and weekly
	// rhythms out of it (difference in differences).
	Before, BeforeDay, BeforeWeek []float64
	// Traffic marks the metric that measures the application's traffic (throughput); PerTraffic
	// marks metrics that grow with traffic (log records): when traffic grew since a reference,
	// CompareAll scales that reference up by the growth before comparing, so a traffic surge
	// alone is not an error-log regression.
	Traffic    bool
	PerTraffic bool
	// Start and Step place Current's points in time (point i at Start + i×Step), for the
	// finding's episodes; zero: not known, no episodes.
	Start time.Time
	Step  time.Duration
	// Lead is how many of the first points (of Current, Day and Week) are context before the
	// judged window: read for the episodes, not for the verdict.
	Lead int

	scale map[string]float64 // reference name → traffic growth factor (> 1), set by CompareAll
}

// Options tunes Compare.
//
// A metric is a regression only if it is worse against EVERY baseline that
// has data (significant, and a material change: at least the metric's
// relative and absolute minimum); worse against one and in line with the
// other (a weekly rhythm, or an incident a day earlier) is not a regression
// of this change.
type Options struct {
	MinPoints    int     // minimum non-NaN points per series for a test (default 10; fewer for a window with fewer points, see Compare)
	Alpha        float64 // significance of the rank test (default 0.01)
	MinRelChange float64 // relative change of the median below which a difference is not material, for metrics without their own (default 0.2 = 20 %)
}

// DefaultOptions returns MinPoints 10, Alpha 0.01, MinRelChange 0.2.
func DefaultOptions() Options {
	return Options{MinPoints: 10, Alpha: 0.01, MinRelChange: 0.2}
}

// withDefaults replaces zero or invalid fields with the defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MinPoints <= 0 {
		o.MinPoints = d.MinPoints
	}
	if !(o.Alpha > 0 && o.Alpha < 1) {
		o.Alpha = d.Alpha
	}
	if !(o.MinRelChange > 0) || math.IsInf(o.MinRelChange, 0) {
		o.MinRelChange = d.MinRelChange
	}
	return o
}

// Verdict is the outcome of one metric's comparison.
type Verdict string

const (
	Stable       Verdict = "STABLE"
	Degraded     Verdict = "DEGRADED"
	Improved     Verdict = "IMPROVED"
	Inconclusive Verdict = "INCONCLUSIVE" // e.g. an alert already firing before the window
	// MissingData: some data, too little to judge (or the metric could not be queried).
	MissingData Verdict = "MISSING_DATA"
	// NotCollected: no series in the window nor in either baseline — the metric is not collected
	// for this application (no log pipeline, say). Named, never held against the application.
	NotCollected Verdict = "NOT_COLLECTED"
	// Gone: present in a baseline, absent (or absent for most of the window) now — traffic or
	// logs that disappeared after the change. A regression.
	Gone Verdict = "GONE"
	// New: present now, absent in both baselines (a new service or metric): not judged.
	New Verdict = "NEW"
)

// Finding is one metric's comparison: the facts handed to the LLM. It encodes to JSON with
// non-finite numbers as the strings "NaN", "+Inf" and "-Inf" (encoding/json refuses them).
type Finding struct {
	Metric        string           `json:"metric"`
	Kind          string           `json:"kind"`
	Verdict       Verdict          `json:"verdict"`
	CurrentMedian float64          `json:"currentMedian"`       // NaN when the current window has no data
	Baselines     []BaselineResult `json:"baselines,omitempty"` // "1d", "1w" (only those with enough data)
	Before        *BaselineResult  `json:"before,omitempty"`    // just before the change, when known and with enough data
	Summary       string           `json:"summary"`             // one English sentence with the numbers
	// Episodes are the stretches of the window in which the metric was worse than its baselines
	// minute by minute (when Start and Step are known), oldest first: when a regression began.
	Episodes []Episode `json:"episodes,omitempty"`
}

// BaselineResult is the comparison of the current window with one baseline.
type BaselineResult struct {
	Name      string  `json:"name"`      // "1d" or "1w"
	Median    float64 `json:"median"`    // baseline median
	RelChange float64 `json:"relChange"` // (cur-base)/|base|; ±Inf when base median 0 and cur ≠ 0; 0 when both 0
	U         float64 `json:"u"`         // Mann-Whitney U of the current window against the baseline
	P         float64 `json:"p"`         // two-sided, normal approximation with tie correction
	Points    int     `json:"points"`    // non-NaN points in the baseline
	Worse     bool    `json:"worse"`     // significant and |RelChange| >= MinRelChange in the bad direction (never for Neutral)
	Better    bool    `json:"better"`    // same, in the good direction (never for Neutral)
	// Scale is the traffic growth the reference was scaled by (metrics that grow with traffic);
	// 0 when not scaled.
	Scale float64 `json:"scale,omitempty"`
}

// MarshalJSON encodes f with non-finite numbers as strings.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	return json.Marshal(struct {
		plain
		CurrentMedian jsonFloat `json:"currentMedian"`
	}{plain(f), jsonFloat(f.CurrentMedian)})
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (f *Finding) UnmarshalJSON(b []byte) error {
	type plain Finding
	var v struct {
		*plain
		CurrentMedian jsonFloat `json:"currentMedian"`
	}
	v.plain = (*plain)(f)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	f.CurrentMedian = float64(v.CurrentMedian)
	return nil
}

// MarshalJSON encodes r with non-finite numbers as strings.
func (r BaselineResult) MarshalJSON() ([]byte, error) {
	type plain BaselineResult
	return json.Marshal(struct {
		plain
		Median    jsonFloat `json:"median"`
		RelChange jsonFloat `json:"relChange"`
		U         jsonFloat `json:"u"`
		P         jsonFloat `json:"p"`
	}{plain(r), jsonFloat(r.Median), jsonFloat(r.RelChange), jsonFloat(r.U), jsonFloat(r.P)})
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (r *BaselineResult) UnmarshalJSON(b []byte) error {
	type plain BaselineResult
	var v struct {
		*plain
		Median    jsonFloat `json:"median"`
		RelChange jsonFloat `json:"relChange"`
		U         jsonFloat `json:"u"`
		P         jsonFloat `json:"p"`
	}
	v.plain = (*plain)(r)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Median, r.RelChange, r.U, r.P = float64(v.Median), float64(v.RelChange), float64(v.U), float64(v.P)
	return nil
}

// jsonFloat is a float64 whose NaN and infinities travel as the strings "NaN", "+Inf", "-Inf".
type jsonFloat float64

func (x jsonFloat) MarshalJSON() ([]byte, error) {
	f := float64(x)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(f)
}

func (x *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`, "null":
		*x = jsonFloat(math.NaN())
	case `"+Inf"`, `"Inf"`:
		*x = jsonFloat(math.Inf(1))
	case `"-Inf"`:
		*x = jsonFloat(math.Inf(-1))
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("compare: number %s: %w", b, err)
		}
		*x = jsonFloat(f)
	}
	return nil
}

// Compare compares m's current window with its 1d and 1w baselines.
//
// Availability comes first, in three states: no series now nor in either baseline → NotCollected
// (not held against the application); present in a baseline and absent now, or present for less
// than half of the window where a baseline had at least twice as many points → Gone (a
// regression); present now and absent in both baselines → New (not judged). Then: fewer than the
// minimum points now → MissingData; a baseline with too few points is left out (and named in
// Summary); no usable baseline → MissingData. The minimum is Options.MinPoints, or 60 % of the
// window's points for a short window (at least 3).
//
// Against each usable baseline a difference counts when it is significant (Mann-Whitney U on the
// per-minute values, p < Alpha) and material (|relative change of the median| ≥ the metric's
// MinRelChange and |absolute change| ≥ its MinAbsChange). Degraded: worse against every usable
// baseline. Improved: better against every one. Worse against one and in line with the other:
// Stable — the window matches a day or a week earlier, so the difference is a daily or weekly
// rhythm (or an incident in the other baseline), not this change; Summary says which baseline
// differed. Neutral metrics are Stable unless their data is missing or gone.
func Compare(m Metric, o Options) Finding {
	o = o.withDefaults()
	f := Finding{Metric: m.Name, Kind: m.Kind, CurrentMedian: math.NaN()}
	whole := m
	if m.Lead > 0 {
		m.Current, m.Day, m.Week = tail(m.Current, m.Lead), tail(m.Day, m.Lead), tail(m.Week, m.Lead)
		m.Start, m.Lead = m.Start.Add(time.Duration(whole.Lead)*m.Step), 0
	}
	if m.Invalid != "" {
		f.Verdict = MissingData
		f.Summary = fmt.Sprintf("%s: %s; not judged", m.Name, m.Invalid)
		return f
	}
	cur, day, week := clean(m.Current), clean(m.Day), clean(m.Week)
	if len(cur) > 0 {
		f.CurrentMedian = median(cur)
	}
	grid := max(len(m.Current), len(m.Day), len(m.Week))
	minPoints := o.MinPoints
	if short := max(3, grid*6/10); grid > 0 && short < minPoints {
		minPoints = short
	}
	basePoints := max(len(day), len(week))
	switch {
	case len(cur) == 0 && basePoints == 0:
		f.Verdict = NotCollected
		f.Summary = fmt.Sprintf("%s: not collected (no series after the change, a day or a week earlier); not held against the application", m.Name)
		return f
	case len(cur) == 0 || (len(cur)*2 < grid && basePoints >= 2*len(cur) && basePoints >= minPoints):
		f.Verdict = Gone
		f.Summary = fmt.Sprintf("%s: present before (%d points a day or a week earlier) but absent after the change (%d of %d points): gone", m.Name, basePoints, len(cur), grid)
		return f
	case basePoints == 0:
		f.Verdict = New
		f.Summary = fmt.Sprintf("%s: new (median %s after the change, no series a day or a week earlier); not judged", m.Name, num(f.CurrentMedian))
		return f
	case len(cur) < minPoints:
		f.Verdict = MissingData
		f.Summary = fmt.Sprintf("%s: missing data after the change (%d of the required %d points); not judged", m.Name, len(cur), minPoints)
		return f
	}

	minRel := o.MinRelChange
	if m.MinRelChange > 0 && !math.IsInf(m.MinRelChange, 0) {
		minRel = m.MinRelChange
	}
	minAbs := max(m.MinAbsChange, 0)
	material := func(r BaselineResult) bool {
		return r.P < o.Alpha && math.Abs(r.RelChange) >= minRel && math.Abs(f.CurrentMedian-r.Median) >= minAbs
	}
	against := func(name string, data []float64) BaselineResult {
		if k := m.scale[name]; k > 1 {
			scaled := make([]float64, len(data))
			for i, v := range data {
				scaled[i] = v * k
			}
			data = scaled
		}
		r := BaselineResult{Name: name, Median: median(data), Points: len(data), Scale: m.scale[name]}
		r.RelChange = relChange(f.CurrentMedian, r.Median)
		r.U, r.P = MannWhitney(cur, data)
		changed := material(r)
		switch m.Direction {
		case HigherIsWorse:
			r.Worse = changed && r.RelChange > 0
			r.Better = changed && r.RelChange < 0
		case LowerIsWorse:
			r.Worse = changed && r.RelChange < 0
			r.Better = changed && r.RelChange > 0
		}
		return r
	}
	var missing []string
	for _, b := range []struct {
		name string
		data []float64
	}{{"1d", day}, {"1w", week}} {
		if len(b.data) < minPoints {
			missing = append(missing, fmt.Sprintf("no usable %s baseline (%d points)", b.name, len(b.data)))
			continue
		}
		f.Baselines = append(f.Baselines, against(b.name, b.data))
	}
	if len(f.Baselines) == 0 {
		f.Verdict = MissingData
		f.Summary = fmt.Sprintf("%s median %s after the change, but %s; not judged", m.Name, num(f.CurrentMedian), strings.Join(missing, " and "))
		return f
	}
	if before := clean(m.Before); len(before) >= minPoints {
		r := against("before", before)
		f.Before = &r
	}

	worse, better, changedAny := 0, 0, false
	for _, r := range f.Baselines {
		if r.Worse {
			worse++
		}
		if r.Better {
			better++
		}
		if material(r) {
			changedAny = true
		}
	}
	f.Episodes = episodes(whole, minRel, minAbs)
	n := len(f.Baselines)
	var conclusion string
	switch {
	case m.Direction == Neutral:
		f.Verdict = Stable
		if changedAny {
			conclusion = "changed (neutral metric, not judged by itself)"
		} else {
			conclusion = "no significant change"
		}
	case worse == n && f.Before != nil && alreadyBefore(m, f, minPoints, minRel, minAbs):
		f.Verdict = Stable
		conclusion = fmt.Sprintf("worse than a day and a week earlier, but already as far from its baselines just before the change (%s then): not this change",
			num(f.Before.Median))
	case worse == n:
		f.Verdict, conclusion = Degraded, "worse"
	case better == n:
		f.Verdict, conclusion = Improved, "better"
	case worse > 0:
		f.Verdict = Stable
		conclusion = "worse than " + baselineNames(f.Baselines, true) + " only, in line with " + baselineNames(f.Baselines, false) +
			": a recurring pattern, not this change"
	default:
		f.Verdict, conclusion = Stable, "no regression"
	}

	var parts []string
	for _, r := range f.Baselines {
		phrase := "a day ago"
		if r.Name == "1w" {
			phrase = "a week ago"
		}
		scaled := ""
		if r.Scale > 1 {
			scaled = fmt.Sprintf(", scaled ×%.1f for traffic", r.Scale)
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s, %s%s)", num(r.Median), phrase, pct(r.RelChange), pval(r.P), scaled))
	}
	s := fmt.Sprintf("%s median %s vs %s", m.Name, num(f.CurrentMedian), strings.Join(parts, " and "))
	if len(missing) > 0 {
		s += "; " + strings.Join(missing, "; ")
	}
	f.Summary = s + ": " + conclusion
	return f
}

// CompareAll compares every metric of one application (see Compare). When one metric is marked
// Traffic, the references of the metrics marked PerTraffic are scaled up by the traffic's growth
// since each of them (the ratio of the traffic medians, when above 1): twice the requests may
// log twice the errors without a regression. A traffic drop scales nothing.
func CompareAll(ms []Metric, o Options) []Finding {
	var traffic *Metric
	for i := range ms {
		if ms[i].Traffic {
			traffic = &ms[i]
			break
		}
	}
	out := make([]Finding, len(ms))
	for i, m := range ms {
		if m.PerTraffic && traffic != nil {
			cur := median(clean(traffic.Current))
			m.scale = map[string]float64{}
			for _, ref := range []struct {
				name string
				data []float64
			}{{"1d", traffic.Day}, {"1w", traffic.Week}, {"before", traffic.Before}} {
				if base := median(clean(ref.data)); base > 0 && cur/base > 1 {
					m.scale[ref.name] = cur / base
				}
			}
		}
		out[i] = Compare(m, o)
	}
	return out
}

// alreadyBefore reports whether a metric worse than its baselines was already about as far from
// its own baselines just before the change (difference in differences): for every baseline, the
// window before the change was materially worse than the same window a day (a week) earlier, and
// the excess did not grow materially at the change. Without the before window's baselines it
// cannot tell, and says no.
func alreadyBefore(m Metric, f Finding, minPoints int, minRel, minAbs float64) bool {
	sign := 1.0
	if m.Direction == LowerIsWorse {
		sign = -1
	}
	before := clean(m.Before)
	bm := median(before)
	for _, r := range f.Baselines {
		bb := m.BeforeDay
		if r.Name == "1w" {
			bb = m.BeforeWeek
		}
		bb = clean(bb)
		if len(bb) < minPoints {
			return false
		}
		bbm := median(bb)
		excessBefore := sign * (bm - bbm)
		excessNow := sign * (f.CurrentMedian - r.Median)
		material := func(d, base float64) bool { return d >= minAbs && d >= minRel*math.Abs(base) && d > 0 }
		if !material(excessBefore, bbm) {
			return false // it was fine before: the change made it worse
		}
		if material(excessNow-excessBefore, bbm+sign*excessBefore) {
			return false // it got materially worse at the change
		}
	}
	return true
}

// baselineNames lists the baselines that are worse (or, with worse false, that are not).
func baselineNames(rs []BaselineResult, worse bool) string {
	var names []string
	for _, r := range rs {
		if r.Worse == worse {
			names = append(names, r.Name)
		}
	}
	return strings.Join(names, ", ")
}

// Judgement is an application's roll-up of its findings.
type Judgement struct {
	State  string   // STABLE, MOSTLY_STABLE or UNSTABLE
	Faulty []string // kinds at fault, sorted and unique
	// Judged is false when no request metric (TRANSACTION) could be compared with a baseline —
	// or, without request metrics, no metric at all: the state is then never STABLE.
	Judged bool
	// Collected is false when no request metric (TRANSACTION) — or, without request metrics,
	// no metric at all — has data now or in a baseline: there is nothing to judge, e.g. before
	// a new service's first deployment. (Metrics that always answer, such as a count of firing
	// alerts that defaults to 0, do not count when request metrics exist.)
	Collected    bool
	NotCollected []string // metrics not collected, in order
	New          []string // metrics present only now, not judged, in order
}

// Judge rolls findings up into an application state:
//
//   - "UNSTABLE" if any TRANSACTION or ALERT metric is Degraded or Gone;
//   - "MOSTLY_STABLE" if only ISSUE metrics are Degraded or Gone, any metric is Inconclusive or
//     MissingData, or nothing could be judged (no request metric has both current and baseline
//     data: a new service, or no data at all): an application without data is never STABLE;
//   - "STABLE" otherwise. NotCollected and New metrics are named, not held against it.
func Judge(findings []Finding) Judgement {
	j := Judgement{State: "STABLE"}
	seen := map[string]bool{}
	hasTx, judgedTx, judgedAny, collectedTx, collectedAny := false, false, false, false, false
	for _, f := range findings {
		tx := strings.ToUpper(f.Kind) == "TRANSACTION"
		hasTx = hasTx || tx
		if f.Verdict != NotCollected {
			collectedAny, collectedTx = true, collectedTx || tx
		}
		switch f.Verdict {
		case NotCollected:
			j.NotCollected = append(j.NotCollected, f.Metric)
			continue
		case New:
			j.New = append(j.New, f.Metric)
			continue
		case Stable, Improved:
			judgedAny, judgedTx = true, judgedTx || tx
			continue
		case Degraded, Gone:
			judgedAny, judgedTx = true, judgedTx || tx
			k := strings.ToUpper(f.Kind)
			if k == "TRANSACTION" || k == "ALERT" {
				j.State = "UNSTABLE"
			} else if j.State != "UNSTABLE" {
				j.State = "MOSTLY_STABLE"
			}
		default: // Inconclusive, MissingData, unknown
			if f.Verdict == Inconclusive {
				judgedAny, judgedTx = true, judgedTx || tx
			}
			if j.State != "UNSTABLE" {
				j.State = "MOSTLY_STABLE"
			}
		}
		if !seen[f.Kind] {
			seen[f.Kind] = true
			j.Faulty = append(j.Faulty, f.Kind)
		}
	}
	j.Judged = judgedAny && (judgedTx || !hasTx)
	j.Collected = collectedAny && (collectedTx || !hasTx)
	if !j.Judged && j.State == "STABLE" {
		j.State = "MOSTLY_STABLE"
	}
	sort.Strings(j.Faulty)
	return j
}

// Application rolls findings up into an application state and the kinds at fault (see Judge).
func Application(findings []Finding) (state string, faulty []string) {
	j := Judge(findings)
	return j.State, j.Faulty
}

// MannWhitney returns the Mann-Whitney U statistic of a against b (the number
// of pairs (x in a, y in b) with x > y, ties counting ½) and the two-sided p
// value from the normal approximation with tie and continuity correction.
// NaN entries are skipped. With an empty sample U is 0 and p is 1; when all
// values are tied p is 1.
func MannWhitney(a, b []float64) (u, p float64) {
	a, b = clean(a), clean(b)
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 0, 1
	}
	type obs struct {
		v    float64
		from int
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range a {
		all = append(all, obs{v, 0})
	}
	for _, v := range b {
		all = append(all, obs{v, 1})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := len(all)
	var ra, tieSum float64
	for i := 0; i < n; {
		j := i
		for j < n && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+1+j) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].from == 0 {
				ra += rank
			}
		}
		t := float64(j - i)
		tieSum += t*t*t - t
		i = j
	}
	fn1, fn2, fn := float64(n1), float64(n2), float64(n)
	u = ra - fn1*(fn1+1)/2
	mu := fn1 * fn2 / 2
	variance := fn1 * fn2 / 12 * ((fn + 1) - tieSum/(fn*(fn-1)))
	if !(variance > 0) {
		return u, 1
	}
	z := math.Max(math.Abs(u-mu)-0.5, 0) / math.Sqrt(variance)
	p = math.Erfc(z / math.Sqrt2)
	return u, math.Min(p, 1)
}

// clean returns the non-NaN (and finite) values of xs.
func clean(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func relChange(cur, base float64) float64 {
	if base == 0 {
		switch {
		case cur > 0:
			return math.Inf(1)
		case cur < 0:
			return math.Inf(-1)
		default:
			return 0
		}
	}
	return (cur - base) / math.Abs(base)
}

// num formats a value with about three significant digits, no exponent.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "n/a"
	case a >= 100 || a == 0:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func pct(r float64) string {
	switch {
	case math.IsInf(r, 1):
		return "up from zero"
	case math.IsInf(r, -1):
		return "down from zero"
	}
	return fmt.Sprintf("%+.0f %%", r*100)
}

func pval(p float64) string {
	if p < 0.0001 {
		return "p<0.0001"
	}
	return "p=" + strconv.FormatFloat(p, 'f', 4, 64)
}
