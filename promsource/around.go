package promsource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// DefaultAroundPoints is the number of points Around aims at when given maxPoints ≤ 0.
const DefaultAroundPoints = 24

// Point is one value of a series; points without data are left out.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Around is one metric's series around a change at a coarse step, with the 1 d baseline.
// Day's points carry the timestamps of the current window they compare with (Prometheus applies
// the offset), so Current and Day line up on one time axis.
type Around struct {
	Metric  string        `json:"metric"`
	Kind    string        `json:"kind"`
	Step    time.Duration `json:"step"`
	Current []Point       `json:"current"`
	Day     []Point       `json:"day"`
}

// aroundStep divides d into at most n steps (DefaultAroundPoints when n ≤ 0, Prometheus's
// per-series limit at most), rounded up to a whole minute, at least a minute.
func aroundStep(d time.Duration, n int) time.Duration {
	if n <= 0 {
		n = DefaultAroundPoints
	}
	n = min(n, maxPoints)
	step := (d + time.Duration(n) - 1) / time.Duration(n)
	step = (step + time.Minute - 1) / time.Minute * time.Minute
	return max(step, time.Minute)
}

// Around evaluates q for app over [from, to) at a coarse step (the window divided into at most
// maxPoints steps, rounded up to a whole minute; maxPoints ≤ 0 means DefaultAroundPoints), with
// no offset and with offset 1d. Several result series are summed per timestamp as by QueryRange;
// NaN and infinite points are dropped, and no data gives empty (non-nil) slices.
func (c *Client) Around(ctx context.Context, q Query, app string, from, to time.Time, maxPoints int) (Around, error) {
	if app == "" {
		return Around{}, errors.New("promsource: empty application name")
	}
	if err := q.Validate(); err != nil {
		return Around{}, err
	}
	start := from.Truncate(time.Millisecond)
	if !to.After(start) {
		return Around{}, fmt.Errorf("promsource: empty window [%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	step := aroundStep(to.Sub(start), maxPoints)
	scrape, _ := c.ScrapeInterval(ctx)
	rate := promDuration(RateInterval(scrape, step))
	var series [2][]Point
	err := fanOut(ctx, len(series), func(ctx context.Context, i int) error {
		b := baselines[i]
		samples, err := c.QueryRange(ctx, render(q.PromQL, app, b.offset, rate), start, to, step)
		if err != nil {
			return fmt.Errorf("promsource: metric %q (%s window): %w", q.Metric, b.name, err)
		}
		pts := make([]Point, 0, len(samples))
		for _, s := range samples {
			if !math.IsNaN(s.V) && !math.IsInf(s.V, 0) {
				pts = append(pts, Point{T: s.T, V: s.V})
			}
		}
		series[i] = pts
		return nil
	})
	if err != nil {
		return Around{}, err
	}
	return Around{Metric: q.Metric, Kind: q.Kind, Step: step, Current: series[0], Day: series[1]}, nil
}
