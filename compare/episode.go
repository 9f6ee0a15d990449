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
	n := len(m.Current)
	// worse: 1 worse, 0 in line, -1 unknown (a point or both baselines missing).
	worse := make([]int, n)
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
			// The calm stretch before it: back from i-1 while no two worse points in a row.
			calm, known, j := i, 0, i-1
			for ; j >= 0; j-- {
				if worse[j] == 1 && j > 0 && worse[j-1] == 1 {
					break
				}
				if worse[j] == 0 {
					known++
				}
				calm = j
			}
			if known >= calmMinPoints && calm < i {
				t := at(calm)
				e.CalmFrom = &t
			}
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
