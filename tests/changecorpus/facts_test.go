package changecorpus

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// A check is one thing a scenario's data must show for its label to be the truth.
type check func(f Facts) error

func baselines(f Facts, m string) (day, week float64) {
	return f[m][AfterDay].Median, f[m][AfterWeek].Median
}

// up: after ≥ k × the larger baseline.
func up(m string, k float64) check {
	return func(f Facts) error {
		d, w := baselines(f, m)
		if a := f[m][After].Median; !(a >= k*math.Max(d, w)) {
			return fmt.Errorf("%s after %.4g, not ≥ %.3g × baselines (%.4g, %.4g)", m, a, k, d, w)
		}
		return nil
	}
}

// down: after ≤ k × the smaller baseline.
func down(m string, k float64) check {
	return func(f Facts) error {
		d, w := baselines(f, m)
		if a := f[m][After].Median; !(a <= k*math.Min(d, w)) {
			return fmt.Errorf("%s after %.4g, not ≤ %.3g × baselines (%.4g, %.4g)", m, a, k, d, w)
		}
		return nil
	}
}

// same: after within ±tol of each baseline in windows (AfterDay, AfterWeek by default).
func same(m string, tol float64, windows ...int) check {
	if len(windows) == 0 {
		windows = []int{AfterDay, AfterWeek}
	}
	return func(f Facts) error {
		a := f[m][After].Median
		for _, w := range windows {
			if b := f[m][w].Median; !(math.Abs(a-b) <= tol*b) {
				return fmt.Errorf("%s after %.4g, baseline %.4g: not within ±%.0f%%", m, a, b, 100*tol)
			}
		}
		return nil
	}
}

// gone: the metric has data in the baselines and before the finish, hardly any after.
func gone(m string) check {
	return func(f Facts) error {
		s := f[m]
		if s[After].Coverage > 0.2 || s[AfterDay].Coverage < 0.9 || s[AfterWeek].Coverage < 0.9 || s[Gate].Coverage < 0.9 {
			return fmt.Errorf("%s coverage after %.2f, baselines %.2f %.2f, gate %.2f: not gone", m, s[After].Coverage, s[AfterDay].Coverage, s[AfterWeek].Coverage, s[Gate].Coverage)
		}
		return nil
	}
}

// absent: no data in any window.
func absent(m string) check {
	return func(f Facts) error {
		for i, s := range f[m] {
			if s.Coverage > 0 {
				return fmt.Errorf("%s has data in window %d", m, i)
			}
		}
		return nil
	}
}

// fresh: no data before the finish or in the baselines, data after.
func fresh(m string) check {
	return func(f Facts) error {
		s := f[m]
		if s[After].Coverage < 0.9 || s[AfterDay].Coverage+s[AfterWeek].Coverage+s[Gate].Coverage+s[GateDay].Coverage+s[GateWeek].Coverage > 0 {
			return fmt.Errorf("%s coverage %+v: not new", m, s)
		}
		return nil
	}
}

// within: after's median within [lo, hi].
func within(m string, lo, hi float64) check {
	return func(f Facts) error {
		if a := f[m][After].Median; !(a >= lo && a <= hi) {
			return fmt.Errorf("%s after %.4g not in [%.4g, %.4g]", m, a, lo, hi)
		}
		return nil
	}
}

// zeroBefore: 0 (not missing) in the baselines and before the deployment.
func zeroBefore(m string) check {
	return func(f Facts) error {
		for _, w := range []int{AfterDay, AfterWeek, Gate, GateDay, GateWeek} {
			if s := f[m][w]; s.Median != 0 || s.Coverage < 0.9 {
				return fmt.Errorf("%s in window %d: %+v, want 0", m, w, s)
			}
		}
		return nil
	}
}

// gateUp: the pre-deployment window ≥ k × both of its baselines (an unhealthy service).
func gateUp(m string, k float64) check {
	return func(f Facts) error {
		s := f[m]
		if !(s[Gate].Median >= k*math.Max(s[GateDay].Median, s[GateWeek].Median)) {
			return fmt.Errorf("%s gate %.4g not ≥ %.3g × (%.4g, %.4g)", m, s[Gate].Median, k, s[GateDay].Median, s[GateWeek].Median)
		}
		return nil
	}
}

// ratio: after / baseline window w within [lo, hi].
func ratio(m string, w int, lo, hi float64) check {
	return func(f Facts) error {
		if r := f[m][After].Median / f[m][w].Median; !(r >= lo && r <= hi) {
			return fmt.Errorf("%s after/window %d = %.3g not in [%.3g, %.3g]", m, w, r, lo, hi)
		}
		return nil
	}
}

const (
	tp   = "throughput"
	er   = "error_ratio"
	p50  = "latency_p50"
	p90  = "latency_p90"
	p95  = "latency_p95"
	elog = "error_logs"
	flog = "fatal_logs"
)

// facts are, per scenario, what its data must show (measured like Vigil's default queries).
var facts = map[string][]check{
	"error-jump":                 {up(er, 8), same(tp, .1), same(p50, .1), same(p95, .1)},
	"error-jump-low-traffic":     {up(er, 4), same(tp, .15)},
	"tiny-error-change":          {within(er, 0, 0.001), same(tp, .1), same(p50, .1), same(p95, .1)},
	"moderate-error-rise":        {up(er, 2.5), same(tp, .1), same(p50, .1)},
	"latency-p50-shift":          {up(p50, 2), same(tp, .1), same(er, .3)},
	"latency-tail-shift":         {up(p95, 4), same(p50, .15), same(er, .3)},
	"small-latency-change":       {same(p50, .15), same(p95, .15), same(er, .3)},
	"latency-improved":           {down(p50, .5), same(tp, .1)},
	"traffic-drop":               {down(tp, .4), same(p50, .1)},
	"traffic-gone":               {gone(tp), gone(p50)},
	"throughput-dip":             {same(tp, .3), down(tp, .85), same(p50, .1), same(er, .3)},
	"traffic-surge":              {up(tp, 1.8), same(p50, .1), same(p95, .1), same(er, .3)},
	"daily-rhythm":               {same(tp, .1), same(p50, .1), same(er, .3)},
	"daily-rhythm-error-jump":    {up(er, 6), same(tp, .1), same(p50, .1)},
	"monday-after-weekend":       {same(tp, .1, AfterWeek), ratio(tp, AfterDay, 2, 3), same(p50, .1, AfterWeek), same(er, .3)},
	"batch-job-errors":           {same(er, .3), same(tp, .1), same(p50, .1)},
	"noisy-unchanged":            {same(tp, .25), same(p50, .25), same(er, .5)},
	"slow-drift":                 {same(p50, .1, AfterDay), ratio(p50, AfterWeek, 1.15, 2), same(tp, .1), same(er, .3)},
	"incident-fixed":             {same(er, .3), same(tp, .1), gateUp(er, 5)},
	"new-service":                {fresh(tp), fresh(p50), fresh(elog), within(er, 0, 0.02)},
	"no-log-pipeline":            {absent(elog), absent(flog), same(er, .3), same(tp, .1)},
	"no-log-pipeline-error-jump": {absent(elog), absent(flog), up(er, 8)},
	"sparse-unchanged":           {same(tp, .3), same(p50, .3)},
	"sparse-error-jump":          {within(er, 0.12, 0.4), same(tp, .3)},
	"restarts":                   {same(tp, .1), same(p50, .1), same(er, .3), same(p95, .1)},
	"restarts-latency-shift":     {up(p50, 2.5), same(tp, .1)},
	"error-logs-new-exception":   {up(elog, 4), same(er, .3), same(p50, .1), same(tp, .1)},
	"log-pipeline-gone":          {gone(elog), gone(flog), same(tp, .1), same(er, .3)},
	"fatal-logs-appear":          {within(flog, 0.02, 0.05), zeroBefore(flog), same(er, .3), same(elog, .3)},
	"label-variety":              {same(tp, .1), same(p50, .1), same(p95, .1), same(er, .3)},
	"label-variety-route-tail":   {up(p95, 3), up(p90, 2), same(p50, .15), same(tp, .1)},
	"short-window-healthy":       {same(tp, .1), same(p50, .1), same(er, .4)},
	"short-window-error-jump":    {up(er, 8), same(tp, .1)},
	"short-window-latency":       {up(p50, 3), same(tp, .1)},
	"long-window-daily":          {same(tp, .1), same(p50, .1), same(er, .3)},
	"ho-payments-error-jump":     {up(er, 8), same(tp, .15)},
	"ho-db-pool-wait":            {up(p90, 3), up(p95, 3), same(p50, .2), same(tp, .1)},
	"ho-monday-drift":            {ratio(tp, AfterWeek, 1.05, 1.3), ratio(tp, AfterDay, 2.5, 4), same(p50, .2), same(p95, .2), same(er, .3)},
	"ho-sparse-no-logs":          {absent(elog), absent(flog), same(tp, .3)},
	"ho-traffic-drop":            {down(tp, .3), same(p50, .1)},
	"ho-restarts-daily":          {same(tp, .1), same(p50, .1), same(er, .3)},
	"ho-latency-incident-fixed":  {same(p50, .1), same(er, .3), gateUp(p50, 5)},
	"ho-new-service":             {fresh(tp), fresh(elog)},
	"ho-warn-logs":               {same(elog, .3), same(tp, .1), same(p50, .1)},
	"ho-traffic-x3":              {up(tp, 2.5), ratio(p50, AfterWeek, 1.0, 1.25), same(er, .3)},
	"ho-404-surge":               {up(tp, 1.3), down(er, 1.1), same(elog, .3)},
}

// checkFacts measures every scenario on the running Prometheus and checks what its data shows:
// the per-scenario facts above, the gate windows of "proceed" scenarios close to one of their
// baselines, and no log data where there is no log pipeline.
func checkFacts(t *testing.T, base string, anchor time.Time, scrape time.Duration) {
	scenarios := Scenarios()
	got := make([]Facts, len(scenarios))
	errs := make([]error, len(scenarios))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range scenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			got[i], errs[i] = Measure(context.Background(), base, anchor, scrape, s)
		}()
	}
	wg.Wait()
	for i, s := range scenarios {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		f := got[i]
		cs, ok := facts[s.Name]
		if !ok {
			t.Errorf("%s: no facts to check", s.Name)
		}
		if s.WantGate == Proceed && s.Family != "new service" {
			for _, m := range []string{er, p50, p95} {
				st := f[m]
				slack := map[string]float64{er: 0.01, p50: 0.01, p95: 0.02}[m]
				if !(st[Gate].Median <= 1.5*math.Min(st[GateDay].Median, st[GateWeek].Median)+slack ||
					st[Gate].Median <= 1.5*math.Max(st[GateDay].Median, st[GateWeek].Median)+slack && (s.Family == "weekly rhythm" || s.Family == "slow drift over days")) {
					cs = append(cs, func(Facts) error {
						return fmt.Errorf("gate proceed but %s before the deployment %.4g against (%.4g, %.4g)", m, st[Gate].Median, st[GateDay].Median, st[GateWeek].Median)
					})
				}
			}
		}
		for _, c := range cs {
			if err := c(f); err != nil {
				t.Errorf("%s (%s, want %s): %v\n%s", s.Name, s.Family, s.Want, err, f)
			}
		}
	}
}
