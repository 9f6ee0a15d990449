package compare

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// series is n points of base with the points in [from, to) set to v.
func series(n int, base float64, spans ...[3]float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = base
		for _, s := range spans {
			if float64(i) >= s[0] && float64(i) < s[1] {
				out[i] = s[2]
			}
		}
	}
	return out
}

func TestEpisodes(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) }
	errRatio := func(cur []float64) Metric {
		return Metric{Name: "error_ratio", Direction: HigherIsWorse, Current: cur, Day: series(len(cur), 0.005), Week: series(len(cur), 0.005),
			MinRelChange: 0.5, MinAbsChange: 0.005, Start: start, Step: time.Minute}
	}
	t.Run("one episode after a calm stretch", func(t *testing.T) {
		f := Compare(errRatio(series(60, 0.005, [3]float64{19, 60, 0.06})), DefaultOptions())
		require.Len(t, f.Episodes, 1)
		require.Equal(t, at(19), f.Episodes[0].From)
		require.Equal(t, at(59), f.Episodes[0].To)
		require.NotNil(t, f.Episodes[0].CalmFrom)
		require.Equal(t, at(0), *f.Episodes[0].CalmFrom)
	})
	t.Run("an episode that ended: seen though the window's median is in line", func(t *testing.T) {
		f := Compare(errRatio(series(60, 0.005, [3]float64{5, 28, 0.05})), DefaultOptions())
		require.Equal(t, Stable, f.Verdict)
		require.Len(t, f.Episodes, 1)
		require.Equal(t, at(5), f.Episodes[0].From)
		require.Equal(t, at(27), f.Episodes[0].To)
		require.NotNil(t, f.Episodes[0].CalmFrom)
	})
	t.Run("began before the window: its start is not seen", func(t *testing.T) {
		f := Compare(errRatio(series(60, 0.06)), DefaultOptions())
		require.Len(t, f.Episodes, 1)
		require.Nil(t, f.Episodes[0].CalmFrom)
	})
	t.Run("gaps and noise", func(t *testing.T) {
		cur := series(60, 0.005, [3]float64{10, 11, 0.05}, [3]float64{30, 45, 0.05})
		cur[33], cur[34] = 0.005, math.NaN() // a gap of two inside the episode
		f := Compare(errRatio(cur), DefaultOptions())
		require.Len(t, f.Episodes, 1, "a single worse point is noise, not an episode")
		require.Equal(t, at(30), f.Episodes[0].From)
		require.Equal(t, at(44), f.Episodes[0].To)
		require.NotNil(t, f.Episodes[0].CalmFrom, "one worse point does not break the calm stretch")
		require.Equal(t, at(0), *f.Episodes[0].CalmFrom)
	})
	t.Run("immaterial changes are no episode", func(t *testing.T) {
		f := Compare(errRatio(series(60, 0.005, [3]float64{20, 60, 0.008})), DefaultOptions())
		require.Empty(t, f.Episodes)
	})
	t.Run("a drop of a lower-is-worse metric", func(t *testing.T) {
		m := Metric{Name: "throughput", Direction: LowerIsWorse, Current: series(40, 100, [3]float64{25, 40, 20}),
			Day: series(40, 100), Week: series(40, 100), MinRelChange: 0.5, Start: start, Step: time.Minute}
		f := Compare(m, DefaultOptions())
		require.Len(t, f.Episodes, 1)
		require.Equal(t, at(25), f.Episodes[0].From)
	})
	t.Run("no time, no episodes", func(t *testing.T) {
		m := errRatio(series(60, 0.005, [3]float64{19, 60, 0.06}))
		m.Start = time.Time{}
		require.Empty(t, Compare(m, DefaultOptions()).Episodes)
	})
}

// TestLeadIsReadNotJudged: the points before the judged window date an episode that began there,
// and the verdict is the window's alone.
func TestLeadIsReadNotJudged(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	// 120 points: errors from point 50 on; the judged window is the last 30 (all worse).
	m := Metric{Name: "error_ratio", Direction: HigherIsWorse, Current: series(120, 0.005, [3]float64{50, 120, 0.06}),
		Day: series(120, 0.005), Week: series(120, 0.005), MinRelChange: 0.5, MinAbsChange: 0.005, Start: start, Step: time.Minute}
	m.Lead = PointsBefore(m, start.Add(90*time.Minute))
	require.Equal(t, 90, m.Lead)
	f := Compare(m, DefaultOptions())
	require.Equal(t, Degraded, f.Verdict)
	require.Len(t, f.Episodes, 1)
	require.Equal(t, start.Add(50*time.Minute), f.Episodes[0].From)
	require.Equal(t, start, *f.Episodes[0].CalmFrom)
	// The verdict does not see the lead: worse points only before the window judge nothing.
	m.Current = series(120, 0.005, [3]float64{10, 40, 0.06})
	f = Compare(m, DefaultOptions())
	require.Equal(t, Stable, f.Verdict)
	require.Len(t, f.Episodes, 1)
}

// TestRampStartsWhereItLeavesTheBaseline: a latency that creeps up from point 30 is materially
// worse only from about point 42; the episode dates it back to where the fitted line leaves the
// baseline. A step is not a ramp.
func TestRampStartsWhereItLeavesTheBaseline(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cur := noisy(7, 150, func(i int) float64 {
		if i < 30 {
			return 0.2
		}
		return 0.2 * (1 + 1.5*float64(i-30)/120)
	})
	m := Metric{Name: "latency_p50", Direction: HigherIsWorse, Current: cur, Day: noisy(8, 150, flat(0.2)), Week: noisy(9, 150, flat(0.2)),
		MinRelChange: 0.2, MinAbsChange: 0.01, Start: start, Step: time.Minute}
	f := Compare(m, DefaultOptions())
	require.NotEmpty(t, f.Episodes)
	e := f.Episodes[len(f.Episodes)-1]
	require.True(t, e.Ramp)
	require.InDelta(t, 30, e.From.Sub(start).Minutes(), 8, "from %s", e.From)
	require.NotNil(t, e.CalmFrom)

	step := Metric{Name: "latency_p50", Direction: HigherIsWorse, Current: series(150, 0.2, [3]float64{60, 150, 0.5}),
		Day: series(150, 0.2), Week: series(150, 0.2), MinRelChange: 0.2, MinAbsChange: 0.01, Start: start, Step: time.Minute}
	f = Compare(step, DefaultOptions())
	require.Len(t, f.Episodes, 1)
	require.False(t, f.Episodes[0].Ramp)
	require.Equal(t, start.Add(60*time.Minute), f.Episodes[0].From)
}

// TestStaircaseIsNoRamp: errors that step from 0.5 % to 3 % and later to 9 % began at the first
// step, not where a line through both steps would leave the baseline.
func TestStaircaseIsNoRamp(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cur := series(150, 0.005, [3]float64{100, 112, 0.03}, [3]float64{112, 150, 0.09})
	cur[100] = 0.0105 // the rate window's first minute after the step: barely worse
	m := Metric{Name: "error_ratio", Direction: HigherIsWorse, Current: cur, Day: series(150, 0.005), Week: series(150, 0.005),
		MinRelChange: 0.5, MinAbsChange: 0.005, Start: start, Step: time.Minute}
	f := Compare(m, DefaultOptions())
	require.Len(t, f.Episodes, 1)
	require.False(t, f.Episodes[0].Ramp)
	require.Equal(t, start.Add(100*time.Minute), f.Episodes[0].From)
}

// TestTrafficSurgeEpisode: the traffic doubling and more is a surge episode (not a regression),
// with its level and baselines.
func TestTrafficSurgeEpisode(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m := Metric{Name: "throughput", Direction: LowerIsWorse, Traffic: true, Current: series(60, 100, [3]float64{45, 60, 350}),
		Day: series(60, 100), Week: series(60, 100), MinRelChange: 0.5, Start: start, Step: time.Minute}
	f := Compare(m, DefaultOptions())
	require.Len(t, f.Episodes, 1)
	e := f.Episodes[0]
	require.True(t, e.Surge)
	require.Equal(t, start.Add(45*time.Minute), e.From)
	require.Equal(t, 350.0, e.Level)
	require.Equal(t, 100.0, *e.Day)
	// A rise of half is no surge.
	m.Current = series(60, 100, [3]float64{45, 60, 150})
	require.Empty(t, Compare(m, DefaultOptions()).Episodes)
}
