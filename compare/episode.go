package compare

import (
	"math"
	"time"
)

// Episode is a stretch of the window in which a metric was materially worse than its baselines
// point by point (each minute against the same minute a day and a week earlier): when a
// regression began and ended, which a window's medians cannot tell. An investigation dates the
// regression behind an alert from it, and so which deployment preceded it.
type Episode struct {
	From time.Time `json:"from"` // the first worse point
	To   time.Time `json:"to"`   // the last worse point
	// CalmFrom is where the calm stretch before the episode starts: from CalmFrom to From the
	// metric was in line with its baselines. Nil when the episode began at the window's start
	// or the window shows no calm stretch before it (its start is not seen).
	CalmFrom *time.Time `json:"calmFrom,omitempty"`
	// Ramp says the metric crept up rather than stepped: its first worse point was barely worse
	// and the excess grew steadily; From is then where the fitted line leaves the baseline,
	// before the first worse point (a leak is worse long before it is materially worse).
	Ramp bool `json:"ramp,omitempty"`
	// Surge marks a rise of the traffic (a metric marked Traffic) to at least twice its
	// baselines: not a regression itself.
	Surge bool `json:"surge,omitempty"`
	// Level is the metric's median over the episode, and Day and Week its baselines' (nil: no
	// data there).
	Level float64  `json:"level"`
	Day   *float64 `json:"day,omitempty"`
	Week  *float64 `json:"week,omitempty"`
}

// Episode detection: a run of worse points at least episodeMinPoints long, gaps of at most
// episodeMaxGap points inside it; a calm stretch is at least calmMinPoints points with no two
// worse points in a row.
const (
	episodeMinPoints = 3
	episodeMaxGap    = 2
	calmMinPoints    = 3
)

// episodes finds m's episodes (see Episode), oldest first. It needs m.Start and m.Step, a
// direction and a baseline; otherwise nil.
func episodes(m Metric, minRel, minAbs float64) []Episode {
	if m.Start.IsZero() || m.Step <= 0 || m.Direction == Neutral {
		return nil
	}
	sign := 1.0
	if m.Direction == LowerIsWorse {
		sign = -1
	}
	out := findEpisodes(m, sign, minRel, minAbs)
	if m.Traffic {
		// The traffic's surges too (at least twice the baselines): not regressions, but what
		// a regression that began with one may be the load's doing.
		for _, e := range findEpisodes(m, 1, surgeMinRel, 0) {
			e.Surge = true
			out = append(out, e)
		}
	}
	return out
}

// surgeMinRel is the rise of the traffic over its baselines that makes a surge episode.
const surgeMinRel = 1.0

// findEpisodes finds the episodes in which sign×(current − baseline) is material.
func findEpisodes(m Metric, sign, minRel, minAbs float64) []Episode {
	n := len(m.Current)
	// worse: 1 worse, 0 in line, -1 unknown (a point or both baselines missing); excess and
	// thr: how much worse than the baselines, and what is material there.
	worse := make([]int, n)
	excess, thr := make([]float64, n), make([]float64, n)
	for i, v := range m.Current {
		ref, k := 0.0, 0
		for _, b := range [][]float64{m.Day, m.Week} {
			if i < len(b) && !math.IsNaN(b[i]) && !math.IsInf(b[i], 0) {
				ref += b[i]
				k++
			}
		}
		if k == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			worse[i] = -1
			continue
		}
		ref /= float64(k)
		d := sign * (v - ref)
		excess[i], thr[i] = d, max(minAbs, minRel*math.Abs(ref))
		if d > 0 && d >= minAbs && d >= minRel*math.Abs(ref) {
			worse[i] = 1
		}
	}
	at := func(i int) time.Time { return m.Start.Add(time.Duration(i) * m.Step) }
	var out []Episode
	for i := 0; i < n; {
		if worse[i] != 1 {
			i++
			continue
		}
		// A run from i: extend over gaps of at most episodeMaxGap non-worse points.
		last, count := i, 0
		for j := i; j < n; j++ {
			if worse[j] == 1 {
				last = j
				count++
			} else if j-last > episodeMaxGap {
				break
			}
		}
		if count >= episodeMinPoints {
			e := Episode{From: at(i), To: at(last)}
			first := i
			if t0, ok := rampStart(worse, excess, thr, i, last); ok {
				// A ramp began at its knee; the short episodes its early, barely worse part made
				// are part of it.
				e.Ramp, e.From, first = true, at(t0), t0
				for len(out) > 0 && !out[len(out)-1].To.Before(e.From) {
					out = out[:len(out)-1]
				}
			}
			// The calm stretch before it: back from its first point while no two worse points
			// are in a row; its start is seen only with a few in-line points before it.
			if calm, known := calmBefore(worse, first); first > 0 && known >= calmMinPoints && calm < first {
				t := at(calm)
				e.CalmFrom = &t
			}
			e.Level, e.Day, e.Week = spanMedians(m, first, last)
			out = append(out, e)
		}
		i = last + 1
	}
	return out
}

// PointsBefore is how many of m's points lie before t (for Metric.Lead); 0 without Start and Step.
func PointsBefore(m Metric, t time.Time) int {
	if m.Start.IsZero() || m.Step <= 0 || !m.Start.Before(t) {
		return 0
	}
	n := int((t.Sub(m.Start) + m.Step - 1) / m.Step)
	return min(n, len(m.Current))
}

// tail is xs without its first n values.
func tail(xs []float64, n int) []float64 {
	if n >= len(xs) {
		return nil
	}
	return xs[n:]
}

// Ramp detection: an episode of at least rampMinPoints whose first worse point is less than
// rampFirstFactor times the material change, whose first third's mean excess is less than
// rampThirds of its last third's, whose fitted excess at its first worse point is less than
// rampRise of that at its end, and whose points between the knee and the first worse point are
// on average at least rampRiseBefore of the fitted line there.
const (
	rampMinPoints   = 10
	rampFirstFactor = 2.0
	rampRise        = 0.5
	rampThirds      = 0.6
	rampRiseBefore  = 0.4
)

// meanKnown is the mean excess of the known points from i to j (NaN when none).
func meanKnown(worse []int, excess []float64, i, j int) float64 {
	var sum, n float64
	for k := i; k <= j; k++ {
		if worse[k] != -1 {
			sum, n = sum+excess[k], n+1
		}
	}
	return sum / n
}

// rampStart reports whether the episode from i to last is a ramp, and where it began: the knee
// of the hinge (zero, then a straight rise) that fits the excess best by least squares, searched
// from as far before i as the episode is long (at most i; 0 or less: before the data).
func rampStart(worse []int, excess, thr []float64, i, last int) (int, bool) {
	if last-i+1 < rampMinPoints || worse[i] != 1 || excess[i] >= rampFirstFactor*thr[i] {
		return 0, false
	}
	// It rises through the episode: its first third is well below its last (a step is flat).
	third := (last - i + 1) / 3
	if a, b := meanKnown(worse, excess, i, i+third-1), meanKnown(worse, excess, last-third+1, last); !(a < rampThirds*b) {
		return 0, false
	}
	lo := max(0, i-(last-i))
	best, bestSSE, bestSlope := i, math.Inf(1), 0.0
	for k := lo; k <= i; k++ {
		var sxy, sxx float64
		for j := k; j <= last; j++ {
			if worse[j] != -1 {
				x := float64(j - k)
				sxy, sxx = sxy+x*excess[j], sxx+x*x
			}
		}
		if sxx == 0 {
			continue
		}
		slope := sxy / sxx
		var sse float64
		for j := lo; j <= last; j++ {
			if worse[j] == -1 {
				continue
			}
			fit := 0.0
			if j > k {
				fit = slope * float64(j-k)
			}
			sse += (excess[j] - fit) * (excess[j] - fit)
		}
		if sse < bestSSE {
			best, bestSSE, bestSlope = k, sse, slope
		}
	}
	// A ramp rises through the episode: the fit at its first point is well below its last.
	if !(bestSlope > 0) || bestSlope*float64(i-best) >= rampRise*bestSlope*float64(last-best) {
		return 0, false
	}
	// Between the knee and the first worse point a ramp is already rising (worse, if not yet
	// materially); a staircase of steps is flat there, and its fitted knee is an artefact.
	if i-best >= 3 {
		if m := meanKnown(worse, excess, best, i-1); !(m >= rampRiseBefore*bestSlope*float64(i-1-best)/2) {
			return 0, false
		}
	}
	return best, true // 0: the knee is at the data's start, it may have begun before
}

// calmBefore is where the calm stretch before point i begins (back while no two worse points
// are in a row) and how many known in-line points it holds.
func calmBefore(worse []int, i int) (calm, known int) {
	calm = i
	for j := i - 1; j >= 0; j-- {
		if worse[j] == 1 && j > 0 && worse[j-1] == 1 {
			break
		}
		if worse[j] == 0 {
			known++
		}
		calm = j
	}
	return calm, known
}

// spanMedians is the median of m's current values from i to j and those of its baselines.
func spanMedians(m Metric, i, j int) (level float64, day, week *float64) {
	span := func(xs []float64) []float64 {
		if i >= len(xs) {
			return nil
		}
		return clean(xs[i:min(j+1, len(xs))])
	}
	if level = median(span(m.Current)); math.IsNaN(level) {
		level = 0 // never: an episode has known points; JSON has no NaN
	}
	if d := span(m.Day); len(d) > 0 {
		v := median(d)
		day = &v
	}
	if w := span(m.Week); len(w) > 0 {
		v := median(w)
		week = &v
	}
	return level, day, week
}
