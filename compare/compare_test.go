package compare

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// noisy returns n per-minute values around f(i) with 10 % multiplicative
// Gaussian noise, from a generator with a fixed seed.
func noisy(seed uint64, n int, f func(i int) float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i) * (1 + 0.1*r.NormFloat64())
	}
	return out
}

func flat(v float64) func(int) float64 { return func(int) float64 { return v } }

func TestCompare(t *testing.T) {
	const n = 60
	nan := math.NaN()
	withHoles := noisy(7, n, flat(240))
	for i := 0; i < n; i += 3 {
		withHoles[i] = nan
	}
	tests := []struct {
		name      string
		m         Metric
		want      Verdict
		baselines []string
		worse     []bool
		inSummary []string
	}{
		{
			name:      "noisy but unchanged",
			m:         Metric{Name: "latency_p95", Kind: "TRANSACTION", Current: noisy(1, n, flat(240)), Day: noisy(2, n, flat(240)), Week: noisy(3, n, flat(240))},
			want:      Stable,
			baselines: []string{"1d", "1w"},
			worse:     []bool{false, false},
		},
		{
			name:      "step change latency x3",
			m:         Metric{Name: "latency_p95", Kind: "TRANSACTION", Current: noisy(1, n, flat(720)), Day: noisy(2, n, flat(240)), Week: noisy(3, n, flat(250))},
			want:      Degraded,
			baselines: []string{"1d", "1w"},
			worse:     []bool{true, true},
			inSummary: []string{"latency_p95 median", "a day ago (+", "a week ago (+", "p<0.0001", ": worse"},
		},
		{
			name: "weekly pattern: matches last week, differs from yesterday",
			// Monday peak: last Monday was just as high, Sunday (yesterday) was quiet.
			m:         Metric{Name: "latency_p95", Kind: "TRANSACTION", Current: noisy(1, n, flat(480)), Day: noisy(2, n, flat(240)), Week: noisy(3, n, flat(470))},
			want:      Stable,
			baselines: []string{"1d", "1w"},
			worse:     []bool{true, false},
			inSummary: []string{"worse than 1d only, in line with 1w: a recurring pattern, not this change"},
		},
		{
			name:      "week baseline missing: judged on the day",
			m:         Metric{Name: "error_ratio", Kind: "TRANSACTION", Current: noisy(1, n, flat(0.15)), Day: noisy(2, n, flat(0.05)), Week: nil},
			want:      Degraded,
			baselines: []string{"1d"},
			worse:     []bool{true},
			inSummary: []string{"no usable 1w baseline (0 points)", ": worse"},
		},
		{
			name:      "day baseline too short, week fine",
			m:         Metric{Name: "error_ratio", Kind: "TRANSACTION", Current: noisy(1, n, flat(0.05)), Day: noisy(2, 5, flat(0.05)), Week: noisy(3, n, flat(0.05))},
			want:      Stable,
			baselines: []string{"1w"},
			worse:     []bool{false},
			inSummary: []string{"no usable 1d baseline (5 points)"},
		},
		{
			name:      "both baselines missing: new, not judged",
			m:         Metric{Name: "error_ratio", Kind: "TRANSACTION", Current: noisy(1, n, flat(0.05)), Day: []float64{nan, nan}, Week: nil},
			want:      New,
			inSummary: []string{"new (median", "not judged"},
		},
		{
			name:      "not collected anywhere",
			m:         Metric{Name: "error_logs", Kind: "ISSUE", Current: []float64{}, Day: nil, Week: []float64{nan}},
			want:      NotCollected,
			inSummary: []string{"not collected", "not held against"},
		},
		{
			name:      "current missing, baselines present: gone",
			m:         Metric{Name: "throughput", Kind: "TRANSACTION", Direction: Neutral, Current: nil, Day: noisy(2, n, flat(50)), Week: noisy(3, n, flat(50))},
			want:      Gone,
			inSummary: []string{"absent after the change (0 of 60 points): gone"},
		},
		{
			name: "current all NaN: gone",
			m:    Metric{Name: "error_ratio", Kind: "TRANSACTION", Current: []float64{nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan}, Day: noisy(2, n, flat(0.05)), Week: noisy(3, n, flat(0.05))},
			want: Gone,
		},
		{
			name: "current present for a third of the window: gone",
			m: Metric{Name: "throughput", Kind: "TRANSACTION", Direction: LowerIsWorse,
				Current: append(noisy(1, 20, flat(50)), make([]float64, 0)...), Day: noisy(2, n, flat(50)), Week: noisy(3, n, flat(50))},
			want: Gone,
		},
		{
			name: "tiny error change 0.01 % → 0.02 % is not material",
			m: Metric{Name: "error_ratio", Kind: "TRANSACTION", MinRelChange: 0.5, MinAbsChange: 0.005,
				Current: noisy(1, n, flat(0.0002)), Day: noisy(2, n, flat(0.0001)), Week: noisy(3, n, flat(0.0001))},
			want:      Stable,
			baselines: []string{"1d", "1w"},
			worse:     []bool{false, false},
		},
		{
			name: "error change 0.5 % → 8 % is material",
			m: Metric{Name: "error_ratio", Kind: "TRANSACTION", MinRelChange: 0.5, MinAbsChange: 0.005,
				Current: noisy(1, n, flat(0.08)), Day: noisy(2, n, flat(0.005)), Week: noisy(3, n, flat(0.005))},
			want:      Degraded,
			baselines: []string{"1d", "1w"},
			worse:     []bool{true, true},
		},
		{
			name: "a 10-minute window judges on 10 points",
			m: Metric{Name: "latency_p95", Kind: "TRANSACTION",
				Current: noisy(1, 10, flat(720)), Day: noisy(2, 10, flat(240)), Week: noisy(3, 10, flat(240))},
			want:      Degraded,
			baselines: []string{"1d", "1w"},
			worse:     []bool{true, true},
		},
		{
			name:      "invalid template: missing data with the reason",
			m:         Metric{Name: "latency_p95", Kind: "TRANSACTION", Invalid: "rate window [1m] is shorter than 4 scrape intervals (4m)"},
			want:      MissingData,
			inSummary: []string{"shorter than 4 scrape intervals"},
		},
		{
			name:      "NaN holes are skipped",
			m:         Metric{Name: "latency_p95", Kind: "TRANSACTION", Current: withHoles, Day: noisy(2, n, flat(240)), Week: noisy(3, n, flat(240))},
			want:      Stable,
			baselines: []string{"1d", "1w"},
			worse:     []bool{false, false},
		},
		{
			name: "slow drift +2 %/min over 60 min",
			m: Metric{Name: "latency_p95", Kind: "TRANSACTION",
				Current: noisy(1, n, func(i int) float64 { return 240 * (1 + 0.02*float64(i)) }),
				Day:     noisy(2, n, flat(240)), Week: noisy(3, n, flat(240))},
			want:      Degraded,
			baselines: []string{"1d", "1w"},
			worse:     []bool{true, true},
		},
		{
			name:      "improvement: errors drop",
			m:         Metric{Name: "error_ratio", Kind: "TRANSACTION", Current: noisy(1, n, flat(0.01)), Day: noisy(2, n, flat(0.05)), Week: noisy(3, n, flat(0.05))},
			want:      Improved,
			baselines: []string{"1d", "1w"},
			worse:     []bool{false, false},
			inSummary: []string{": better"},
		},
		{
			name:      "lower is worse: success ratio drops",
			m:         Metric{Name: "success_ratio", Kind: "TRANSACTION", Direction: LowerIsWorse, Current: noisy(1, n, flat(0.5)), Day: noisy(2, n, flat(0.99)), Week: noisy(3, n, flat(0.99))},
			want:      Degraded,
			baselines: []string{"1d", "1w"},
			worse:     []bool{true, true},
		},
		{
			name:      "throughput doubling is neutral",
			m:         Metric{Name: "throughput", Kind: "TRANSACTION", Direction: Neutral, Current: noisy(1, n, flat(2000)), Day: noisy(2, n, flat(1000)), Week: noisy(3, n, flat(1000))},
			want:      Stable,
			baselines: []string{"1d", "1w"},
			worse:     []bool{false, false},
			inSummary: []string{"throughput median", "a day ago (+", "changed (neutral metric"},
		},
		{
			name:      "small difference below MinRelChange is not a regression",
			m:         Metric{Name: "latency_p95", Kind: "TRANSACTION", Current: noisy(1, n, flat(264)), Day: noisy(2, n, flat(240)), Week: noisy(3, n, flat(240))},
			want:      Stable,
			baselines: []string{"1d", "1w"},
			worse:     []bool{false, false},
		},
		{
			name:      "zero baseline: errors appear from nothing",
			m:         Metric{Name: "error_logs", Kind: "ISSUE", Current: noisy(1, n, flat(5)), Day: make([]float64, n), Week: make([]float64, n)},
			want:      Degraded,
			baselines: []string{"1d", "1w"},
			worse:     []bool{true, true},
			inSummary: []string{"up from zero"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Compare(tc.m, DefaultOptions())
			require.Equal(t, tc.want, f.Verdict, f.Summary)
			require.Equal(t, tc.m.Name, f.Metric)
			require.Equal(t, tc.m.Kind, f.Kind)
			require.NotEmpty(t, f.Summary)
			require.True(t, strings.HasPrefix(f.Summary, tc.m.Name), f.Summary)
			var names []string
			var worse []bool
			for _, b := range f.Baselines {
				names = append(names, b.Name)
				worse = append(worse, b.Worse)
				require.GreaterOrEqual(t, b.Points, min(DefaultOptions().MinPoints, len(tc.m.Current)))
				require.True(t, b.P >= 0 && b.P <= 1, "p=%v", b.P)
			}
			require.Equal(t, tc.baselines, names, f.Summary)
			require.Equal(t, tc.worse, worse, f.Summary)
			for _, s := range tc.inSummary {
				require.Contains(t, f.Summary, s)
			}
			if tc.want == MissingData {
				require.Contains(t, f.Summary, "not judged")
			}
			t.Log(f.Summary)
		})
	}
}

func TestCompareNumbers(t *testing.T) {
	m := Metric{Name: "latency_p95", Kind: "TRANSACTION",
		Current: []float64{800, 810, 812, 815, 820, 805, 812, 830, 790, 812, 812},
		Day:     []float64{240, 235, 245, 240, 238, 242, 240, 239, 241, 240, 240},
		Week:    []float64{250, 251, 252, 249, 251, 251, 250, 253, 251, 251, 248}}
	f := Compare(m, DefaultOptions())
	require.Equal(t, Degraded, f.Verdict)
	require.Equal(t, 812.0, f.CurrentMedian)
	require.Equal(t, 240.0, f.Baselines[0].Median)
	require.InDelta(t, (812.0-240)/240, f.Baselines[0].RelChange, 1e-12)
	require.Equal(t, 121.0, f.Baselines[0].U) // every current point above every baseline point: 11*11
	require.Equal(t, 251.0, f.Baselines[1].Median)
	require.Equal(t, "latency_p95 median 812 vs 240 a day ago (+238 %, p<0.0001) and 251 a week ago (+224 %, p<0.0001): worse", f.Summary)
}

func TestOptionsDefaults(t *testing.T) {
	require.Equal(t, Options{MinPoints: 10, Alpha: 0.01, MinRelChange: 0.2}, DefaultOptions())
	// zero options fall back to defaults: 9 points of 30 is too few, where the baseline has 15.
	nan := math.NaN()
	cur := make([]float64, 30)
	for i := 9; i < 30; i++ {
		cur[i] = nan
	}
	day := make([]float64, 30)
	for i := 15; i < 30; i++ {
		day[i] = nan
	}
	f := Compare(Metric{Name: "x", Kind: "ALERT", Current: cur, Day: day}, Options{})
	require.Equal(t, MissingData, f.Verdict, f.Summary)
	// a lower MinPoints is honoured.
	f = Compare(Metric{Name: "x", Kind: "ALERT", Current: make([]float64, 9), Day: make([]float64, 9)}, Options{MinPoints: 5})
	require.Equal(t, Stable, f.Verdict, f.Summary)
}

func TestMannWhitney(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		a, b []float64
		u, p float64
	}{
		// Pairs with a > b: 3>{1,2}=2, 5>{1,2,4}=3, 7>{1,2,4,6}=4 → U=9.
		// μ=6, σ²=3·4·8/12=8, z=(3-0.5)/√8=0.8839, p=erfc(z/√2)=0.3768.
		{"no ties", []float64{3, 5, 7}, []float64{1, 2, 4, 6}, 9, 0.3768},
		// Complete separation: U=0, μ=4.5, σ²=9·7/12=5.25, z=4/2.2913=1.7457, p=0.0809.
		{"separated", []float64{1, 2, 3}, []float64{4, 5, 6}, 0, 0.0809},
		// Ties: ranks 1, 3,3,3 (three 2s), 5 → R_a=7, U=7-6=1. μ=3,
		// σ²=6/12·(6-24/20)=2.4, z=1.5/1.5492=0.9682, p=0.3329.
		{"ties", []float64{1, 2, 2}, []float64{2, 3}, 1, 0.3329},
		{"NaN skipped", []float64{3, nan, 5, 7}, []float64{1, 2, nan, 4, 6}, 9, 0.3768},
		{"all tied", []float64{4, 4, 4}, []float64{4, 4}, 3, 1},
		{"empty", nil, []float64{1, 2}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, p := MannWhitney(tc.a, tc.b)
			require.Equal(t, tc.u, u)
			require.InDelta(t, tc.p, p, 5e-4)
			if len(tc.a) > 0 && len(tc.b) > 0 {
				u2, p2 := MannWhitney(tc.b, tc.a)
				n1, n2 := float64(len(clean(tc.a))), float64(len(clean(tc.b)))
				require.Equal(t, n1*n2-u, u2, "U1+U2=n1·n2")
				require.InDelta(t, p, p2, 1e-12, "two-sided p is symmetric")
			}
		})
	}
}

func TestApplication(t *testing.T) {
	f := func(kind string, v Verdict) Finding {
		return Finding{Metric: strings.ToLower(kind), Kind: kind, Verdict: v}
	}
	tests := []struct {
		name   string
		in     []Finding
		state  string
		faulty []string
	}{
		{"all stable", []Finding{f("TRANSACTION", Stable), f("ALERT", Stable), f("ISSUE", Improved)}, "STABLE", nil},
		{"transaction degraded", []Finding{f("TRANSACTION", Degraded), f("ALERT", Stable), f("ISSUE", Stable)}, "UNSTABLE", []string{"TRANSACTION"}},
		{"alert degraded plus issue", []Finding{f("ISSUE", Degraded), f("ALERT", Degraded), f("TRANSACTION", Stable)}, "UNSTABLE", []string{"ALERT", "ISSUE"}},
		{"only issue degraded", []Finding{f("TRANSACTION", Stable), f("ISSUE", Degraded)}, "MOSTLY_STABLE", []string{"ISSUE"}},
		{"inconclusive transaction", []Finding{f("TRANSACTION", Inconclusive), f("ALERT", Stable)}, "MOSTLY_STABLE", []string{"TRANSACTION"}},
		{"not collected logs are not held against it", []Finding{f("TRANSACTION", Stable), f("ISSUE", NotCollected)}, "STABLE", nil},
		{"traffic gone", []Finding{f("TRANSACTION", Gone), f("ISSUE", Stable)}, "UNSTABLE", []string{"TRANSACTION"}},
		{"logs gone", []Finding{f("TRANSACTION", Stable), f("ISSUE", Gone)}, "MOSTLY_STABLE", []string{"ISSUE"}},
		{"a new service is not judged", []Finding{f("TRANSACTION", New), f("ALERT", Stable)}, "MOSTLY_STABLE", nil},
		{"nothing collected is never stable", []Finding{f("TRANSACTION", NotCollected), f("ISSUE", NotCollected)}, "MOSTLY_STABLE", nil},
		{"a new log metric beside judged requests", []Finding{f("TRANSACTION", Stable), f("ISSUE", New)}, "STABLE", nil},
		{"missing data is not stable", []Finding{f("TRANSACTION", Stable), f("ALERT", MissingData)}, "MOSTLY_STABLE", []string{"ALERT"}},
		{"degraded wins over missing", []Finding{f("ALERT", MissingData), f("TRANSACTION", Degraded), f("TRANSACTION", Degraded)}, "UNSTABLE", []string{"ALERT", "TRANSACTION"}},
		{"no findings at all", nil, "MOSTLY_STABLE", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state, faulty := Application(tc.in)
			require.Equal(t, tc.state, state)
			require.Equal(t, tc.faulty, faulty)
		})
	}
}

// A finding with missing data must survive the JSON payloads of Temporal and the API.
func TestFindingJSONKeepsNonFiniteNumbers(t *testing.T) {
	f := Finding{Metric: "error_logs", Kind: "ISSUE", Verdict: MissingData, CurrentMedian: math.NaN(),
		Baselines: []BaselineResult{{Name: "1d", Median: 0, RelChange: math.Inf(1), U: 3, P: 0.5, Points: 12, Worse: true}}}
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.Contains(t, string(b), `"currentMedian":"NaN"`)
	require.Contains(t, string(b), `"relChange":"+Inf"`)
	var back Finding
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, math.IsNaN(back.CurrentMedian))
	require.True(t, math.IsInf(back.Baselines[0].RelChange, 1))
	back.CurrentMedian, back.Baselines[0].RelChange = 0, 0
	f.CurrentMedian, f.Baselines[0].RelChange = 0, 0
	require.Equal(t, f, back)
}

// A metric already as far from its baselines just before the change (a drift, an earlier
// incident) is not a regression of the change; one that got worse at the change is. Each window
// is compared with its own baselines (difference in differences), so a daily rhythm between the
// time before the change and the window after it does not count.
func TestBeforeTheChange(t *testing.T) {
	const n = 60
	drifted := Metric{Name: "latency_p90", Kind: "TRANSACTION", MinRelChange: 0.2,
		Current: noisy(1, n, flat(150)), Day: noisy(2, n, flat(100)), Week: noisy(3, n, flat(110)),
		Before: noisy(4, 30, flat(148)), BeforeDay: noisy(5, 30, flat(100)), BeforeWeek: noisy(6, 30, flat(110))}
	f := Compare(drifted, DefaultOptions())
	require.Equal(t, Stable, f.Verdict, f.Summary)
	require.NotNil(t, f.Before)
	require.Contains(t, f.Summary, "already as far from its baselines just before the change")

	regressed := drifted
	regressed.Before = noisy(4, 30, flat(100))
	f = Compare(regressed, DefaultOptions())
	require.Equal(t, Degraded, f.Verdict, f.Summary)

	// Before the change the metric was at another level of its daily rhythm, in line with the
	// same time a day and a week earlier: the change made it worse.
	rhythm := drifted
	rhythm.Before, rhythm.BeforeDay, rhythm.BeforeWeek = noisy(4, 30, flat(140)), noisy(5, 30, flat(138)), noisy(6, 30, flat(142))
	require.Equal(t, Degraded, Compare(rhythm, DefaultOptions()).Verdict)

	// Already worse before, and much worse at the change: a regression of the change.
	worse := drifted
	worse.Current = noisy(1, n, flat(400))
	require.Equal(t, Degraded, Compare(worse, DefaultOptions()).Verdict)

	unknown := drifted
	unknown.Before = nil
	require.Equal(t, Degraded, Compare(unknown, DefaultOptions()).Verdict, "without a before window the baselines decide")
	noBase := drifted
	noBase.BeforeDay, noBase.BeforeWeek = nil, nil
	require.Equal(t, Degraded, Compare(noBase, DefaultOptions()).Verdict, "without the before window's baselines it cannot tell")

	// An incident fixed by the change: as good as the baselines after it.
	fixed := Metric{Name: "error_ratio", Kind: "TRANSACTION", MinRelChange: 0.5, MinAbsChange: 0.005,
		Current: noisy(1, n, flat(0.005)), Day: noisy(2, n, flat(0.005)), Week: noisy(3, n, flat(0.005)),
		Before: noisy(4, 30, flat(0.06)), BeforeDay: noisy(5, 30, flat(0.005)), BeforeWeek: noisy(6, 30, flat(0.005))}
	f = Compare(fixed, DefaultOptions())
	require.Equal(t, Stable, f.Verdict, f.Summary)
	require.True(t, f.Before.Better)
}

// Twice the traffic may log twice the errors: the log metric's references are scaled by the
// traffic's growth; more errors than the traffic explains is still a regression.
func TestErrorLogsScaleWithTraffic(t *testing.T) {
	const n = 60
	traffic := Metric{Name: "throughput", Kind: "TRANSACTION", Direction: LowerIsWorse, MinRelChange: 0.5, Traffic: true,
		Current: noisy(1, n, flat(200)), Day: noisy(2, n, flat(100)), Week: noisy(3, n, flat(100))}
	logs := Metric{Name: "error_logs", Kind: "ISSUE", MinRelChange: 1, MinAbsChange: 1.0 / 60, PerTraffic: true,
		Current: noisy(4, n, flat(0.8)), Day: noisy(5, n, flat(0.4)), Week: noisy(6, n, flat(0.4))}
	fs := CompareAll([]Metric{traffic, logs}, DefaultOptions())
	require.Equal(t, Improved, fs[0].Verdict, fs[0].Summary) // a surge: better for a lower-is-worse metric, never a regression
	require.Equal(t, Stable, fs[1].Verdict, fs[1].Summary)
	require.Contains(t, fs[1].Summary, "scaled ×2.0 for traffic")
	require.InDelta(t, 2, fs[1].Baselines[0].Scale, 0.15)

	logs.Current = noisy(4, n, flat(4)) // ×10 the errors for ×2 the traffic
	fs = CompareAll([]Metric{traffic, logs}, DefaultOptions())
	require.Equal(t, Degraded, fs[1].Verdict, fs[1].Summary)

	// A traffic drop scales nothing.
	traffic.Current = noisy(1, n, flat(50))
	logs.Current = noisy(4, n, flat(0.4))
	fs = CompareAll([]Metric{traffic, logs}, DefaultOptions())
	require.Zero(t, fs[1].Baselines[0].Scale)
	require.Equal(t, Stable, fs[1].Verdict)
}

// Alerts that count 0 by default do not make a service without request metrics "collected".
func TestCollectedNeedsRequestMetrics(t *testing.T) {
	j := Judge([]Finding{{Metric: "throughput", Kind: "TRANSACTION", Verdict: NotCollected},
		{Metric: "alerts_firing", Kind: "ALERT", Verdict: Stable}})
	require.False(t, j.Collected)
	require.False(t, j.Judged)
	require.Equal(t, "MOSTLY_STABLE", j.State)
	j = Judge([]Finding{{Metric: "queue_depth", Kind: "ISSUE", Verdict: Stable}})
	require.True(t, j.Collected, "without request metrics any data counts")
	require.Equal(t, "STABLE", j.State)
}
