package changecorpus

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// at is where a moment sits in a scenario's own clock.
type at struct {
	t      time.Time     // the moment
	day    int           // days before the deployment's day: 0 in the current segment, 1 and 7 in the baselines (others in the gaps between)
	since  time.Duration // time since the finish, in that day's frame (negative before the finish)
	rel    time.Duration // t minus the anchor (negative; for trends over days and the week)
	window time.Duration // the scenario's window
}

// after reports whether a is after the finish of the deployment itself (not in a baseline).
func (a at) after() bool { return a.day == 0 && a.since >= 0 }

// dayPhase is the time of day relative to the middle of the judged window, in [-12h, 12h):
// the same every day, so daily rhythms line up with the 1-day and 1-week baselines.
func (a at) dayPhase() time.Duration {
	x := (a.since - a.window/2) % (24 * time.Hour)
	if x < -12*time.Hour {
		x += 24 * time.Hour
	} else if x >= 12*time.Hour {
		x -= 24 * time.Hour
	}
	return x
}

// weekday is the day index relative to the deployment's day in the scenario's virtual week
// (0 = the deployment's day, -1 = the day before, ...), days starting dayStart before the finish.
func (a at) weekday(dayStart time.Duration) int {
	return int(math.Floor(float64(a.rel+a.window+dayStart) / float64(24*time.Hour)))
}

// locate places t in the scenario's clock for an anchor.
func locate(anchor, t time.Time, window time.Duration) at {
	rel := t.Sub(anchor)
	since := rel + window
	day := 0
	for since <= -20*time.Hour {
		since += 24 * time.Hour
		day++
	}
	return at{t: t, day: day, since: since, rel: rel, window: window}
}

// traffic is what one route serves at a moment.
type traffic struct {
	off  bool    // no requests at all: the route's series are absent
	rps  float64 // requests per second on the route
	err  float64 // share answered 500
	e503 float64 // share answered 503 (routes that declare "503")
	e404 float64 // share answered 404 (routes that declare "404")
	lat  dist    // response time of the 2xx and 500 answers
}

type route struct {
	path, method string
	share        float64  // of the scenario's traffic
	codes        []string // status codes besides "200" and "500": "404", "503"
}

// logKey is one log_records_total series: a severity and, for errors, an exception type.
type logKey struct{ severity, exception string }

var defaultLogKeys = []logKey{
	{"INFO", ""}, {"WARN", ""}, {"ERROR", "TimeoutException"}, {"ERROR", "IllegalStateException"},
}

// totals are the scenario's expected request and 5xx rates at a moment, for the log rates.
type totals struct{ rps, errRPS float64 }

// samples lists a scenario's sample times at one scrape interval: the three segments
// [Planned-45m, A] shifted back 7 days, 1 day and not at all, in time order.
func samples(anchor time.Time, s Scenario, scrape time.Duration) []time.Time {
	var ts []time.Time
	for _, back := range []int{7, 1, 0} {
		end := anchor.Add(-time.Duration(back) * 24 * time.Hour)
		start := Planned(end, s).Add(-45 * time.Minute)
		if r := start.Truncate(scrape); !r.Equal(start) {
			start = r.Add(scrape)
		}
		for t := start; !t.After(end); t = t.Add(scrape) {
			ts = append(ts, t)
		}
	}
	return ts
}

// uptime is how long the counters had been counting before the first sample.
func (s Scenario) uptime() time.Duration { return time.Duration(6+s.seed%60) * time.Hour }

// trafficAt is route r's traffic at a, with the scenario's per-minute noise when noisy.
func (s Scenario) trafficAt(a at, r int, noisy bool) traffic {
	t := traffic{rps: s.RPS * s.routes[r].share, err: s.err, lat: s.lat}
	if s.http != nil {
		s.http(a, r, &t)
	}
	if noisy && s.noise > 0 {
		t.rps *= minuteFactor(s.seed, uint64(3*r+1), a.rel, s.noise)
		t.err = math.Min(1, t.err*minuteFactor(s.seed, uint64(3*r+2), a.rel, s.noise))
		t.lat = t.lat.scaled(minuteFactor(s.seed, uint64(3*r+3), a.rel, s.noise))
	}
	return t
}

func (s Scenario) podsAt(a at) []string {
	if s.newPods != nil && a.after() {
		return s.newPods
	}
	return s.pods
}

// unit is one histogram source: a route on a pod (pod "" when the scenario has no pods).
type unit struct {
	route int
	pod   string
	codes []string
}

func (s Scenario) units() []unit {
	pods := append(append([]string{}, s.pods...), s.newPods...)
	if len(pods) == 0 {
		pods = []string{""}
	}
	var us []unit
	for r, rt := range s.routes {
		for _, p := range pods {
			us = append(us, unit{route: r, pod: p, codes: append([]string{"200", "500"}, rt.codes...)})
		}
	}
	return us
}

// unitRate returns the unit's request rate at a and the share of each of its codes, or ok false
// when the unit has no series then.
func (s Scenario) unitRate(u unit, a at, noisy bool, shares []float64) (rps float64, lat dist, ok bool) {
	t := s.trafficAt(a, u.route, noisy)
	if t.off {
		return 0, lat, false
	}
	n := 1
	if u.pod != "" {
		pods := s.podsAt(a)
		found := false
		for _, p := range pods {
			found = found || p == u.pod
		}
		if !found {
			return 0, lat, false
		}
		n = len(pods)
	}
	rest := 1.0
	for i, c := range u.codes {
		switch c {
		case "500":
			shares[i] = t.err
		case "503":
			shares[i] = t.e503
		case "404":
			shares[i] = t.e404
		default:
			continue
		}
		rest -= shares[i]
	}
	shares[0] = math.Max(rest, 0)
	return t.rps / float64(n), t.lat, true
}

// codeDist is the response time of answers with code c when the route's latency is lat.
func codeDist(c string, lat dist) dist {
	switch c {
	case "404":
		return lognormal(0.004, 0.4)
	case "503":
		return lognormal(0.002, 0.5)
	}
	return lat
}

// histPoint is one unit's state: per code, the count per bucket (not cumulative) and the sum.
type histPoint struct {
	counts [][]float64
	sums   []float64
}

func newHistPoint(codes int) histPoint {
	h := histPoint{counts: make([][]float64, codes), sums: make([]float64, codes)}
	for i := range h.counts {
		h.counts[i] = make([]float64, len(les))
	}
	return h
}

func (h histPoint) zero() {
	for i := range h.counts {
		clear(h.counts[i])
		h.sums[i] = 0
	}
}

// unitSeries generates one unit's series over ts: out[code][k] holds, for sample k, the
// cumulative bucket values (len(les)), the count and the sum; present[k] whether the unit has a
// sample then.
func (s Scenario) unitSeries(anchor time.Time, ts []time.Time, scrape time.Duration, ui int, u unit) (out [][][]float64, present []bool) {
	rng := rand.New(rand.NewPCG(s.seed, uint64(ui)+1))
	nc := len(u.codes)
	h := newHistPoint(nc)
	shares := make([]float64, nc)
	p, m := make([]float64, len(les)), make([]float64, len(les))
	out = make([][][]float64, nc)
	for c := range out {
		out[c] = make([][]float64, len(ts))
	}
	present = make([]bool, len(ts))
	on := false
	// expected adds the expected counts over [from, to) in 5-minute steps (the unscraped gaps).
	expected := func(from, to time.Time) {
		const step = 5 * time.Minute
		for t := from; t.Before(to); t = t.Add(step) {
			d := min(step, to.Sub(t))
			a := locate(anchor, t.Add(d/2), s.Window)
			clear(shares)
			rps, lat, ok := s.unitRate(u, a, false, shares)
			if !ok {
				on = false
				continue
			}
			if !on {
				h.zero()
				on = true
			}
			for c := range nc {
				n := rps * shares[c] * d.Seconds()
				codeDist(u.codes[c], lat).buckets(p, m)
				for b := range les {
					h.counts[c][b] += n * p[b]
					h.sums[c] += n * p[b] * m[b]
				}
			}
		}
		for c := range nc {
			for b := range les {
				h.counts[c][b] = math.Round(h.counts[c][b])
			}
		}
	}
	prev := ts[0].Add(-s.uptime())
	var prevA at
	for k, t := range ts {
		if gap := t.Sub(prev); gap > scrape {
			expected(prev, t.Add(-scrape))
		}
		// A sample counts the requests of the interval that ends at t: what happened then is
		// read at the interval's middle (a change at the finish shows from the next sample).
		a := locate(anchor, t.Add(-scrape/2), s.Window)
		clear(shares)
		rps, lat, ok := s.unitRate(u, a, true, shares)
		if ok {
			if !on {
				h.zero()
				on = true
			}
			if k > 0 && a.day == 0 && prevA.day == 0 {
				for _, r := range s.resets {
					if prevA.since+scrape/2 < r && a.since+scrape/2 >= r {
						h.zero()
					}
				}
			}
			n := poisson(rng, rps*scrape.Seconds())
			left, leftP := n, 1.0
			for c := range nc {
				nCode := left
				if c < nc-1 {
					nCode = binomial(rng, left, math.Min(1, shares[c]/math.Max(leftP, 1e-12)))
				}
				left -= nCode
				leftP -= shares[c]
				codeDist(u.codes[c], lat).buckets(p, m)
				bl, bp := nCode, 1.0
				for b := range les {
					nb := bl
					if b < len(les)-1 {
						nb = binomial(rng, bl, math.Min(1, p[b]/math.Max(bp, 1e-12)))
					}
					bl -= nb
					bp -= p[b]
					h.counts[c][b] += nb
					h.sums[c] += nb * m[b]
				}
			}
			present[k] = true
			for c := range nc {
				row := make([]float64, len(les)+2)
				cum := 0.0
				for b := range les {
					cum += h.counts[c][b]
					row[b] = cum
				}
				row[len(les)] = cum
				row[len(les)+1] = h.sums[c]
				out[c][k] = row
			}
		} else {
			on = false
		}
		prev, prevA = t, a
	}
	return out, present
}

// logRate is the rate of log series k at a; ok false when the series is absent then.
func (s Scenario) logRate(a at, k logKey) (float64, bool) {
	var tot totals
	for r := range s.routes {
		t := s.trafficAt(a, r, false)
		if t.off {
			continue
		}
		tot.rps += t.rps
		tot.errRPS += t.rps * (t.err + t.e503)
	}
	rate := math.NaN()
	switch k {
	case logKey{"INFO", ""}:
		rate = 0.5*tot.rps + 0.2
	case logKey{"WARN", ""}:
		rate = 0.02*tot.rps + 0.05
	case logKey{"ERROR", "TimeoutException"}:
		rate = 0.8*tot.errRPS + 0.005
	case logKey{"ERROR", "IllegalStateException"}:
		rate = 0.01
	}
	if s.logs != nil {
		s.logs(a, k, &rate, tot)
	}
	return rate, !math.IsNaN(rate) && rate >= 0
}

func (s Scenario) logKeys() []logKey {
	if s.noLogs {
		return nil
	}
	return append(append([]logKey{}, defaultLogKeys...), s.extraLogs...)
}

// logSeries generates one log counter over ts.
func (s Scenario) logSeries(anchor time.Time, ts []time.Time, scrape time.Duration, ki int, k logKey) (vals []float64, present []bool) {
	rng := rand.New(rand.NewPCG(s.seed, 1000+uint64(ki)))
	vals, present = make([]float64, len(ts)), make([]bool, len(ts))
	cum, on := 0.0, false
	prev := ts[0].Add(-s.uptime())
	for i, t := range ts {
		if gap := t.Sub(prev); gap > scrape {
			const step = 5 * time.Minute
			for g := prev; g.Before(t.Add(-scrape)); g = g.Add(step) {
				d := min(step, t.Add(-scrape).Sub(g))
				rate, ok := s.logRate(locate(anchor, g.Add(d/2), s.Window), k)
				if !ok {
					on = false
					continue
				}
				if !on {
					cum, on = 0, true
				}
				cum += rate * d.Seconds()
			}
			cum = math.Round(cum)
		}
		rate, ok := s.logRate(locate(anchor, t.Add(-scrape/2), s.Window), k)
		if ok {
			if !on {
				cum, on = 0, true
			}
			cum += poisson(rng, rate*scrape.Seconds())
			vals[i], present[i] = cum, true
		} else {
			on = false
		}
		prev = t
	}
	return vals, present
}

const (
	histFamily = "http_server_request_duration_seconds"
	logFamily  = "log_records"
)

// WriteOpenMetrics writes the OpenMetrics text for the scenarios at the given scrape interval
// (anchor is truncated to it): the histogram family, then the log family, each series' samples in
// time order, ending "# EOF". Samples sit on multiples of scrape and cover, per scenario, the
// segment [Planned-45m, anchor] and the same segment 1 day and 7 days earlier; counters carry on
// across the unwritten gaps as if they had been scraped (expected values), except where a
// scenario resets them or its series stop and start again. It streams one series group at a
// time.
func WriteOpenMetrics(w io.Writer, anchor time.Time, scrape time.Duration, scenarios []Scenario) error {
	if scrape < time.Second {
		return fmt.Errorf("changecorpus: scrape interval %v too short", scrape)
	}
	anchor = anchor.Truncate(scrape)
	bw := bufio.NewWriterSize(w, 1<<20)
	var line []byte
	fmt.Fprintf(bw, "# TYPE %s histogram\n# UNIT %s seconds\n# HELP %s Duration of HTTP server requests.\n", histFamily, histFamily, histFamily)
	for _, s := range scenarios {
		ts := samples(anchor, s, scrape)
		stamps := make([][]byte, len(ts))
		for i, t := range ts {
			stamps[i] = appendStamp([]byte{' '}, s, t, i, scrape)
		}
		for ui, u := range s.units() {
			series, present := s.unitSeries(anchor, ts, scrape, ui, u)
			for c, code := range u.codes {
				labels := s.histLabels(u, code)
				for b := 0; b < len(les)+2; b++ {
					var prefix string
					switch {
					case b < len(les):
						le := "+Inf"
						if !math.IsInf(les[b], 1) {
							le = strconv.FormatFloat(les[b], 'g', -1, 64)
						}
						prefix = histFamily + "_bucket{" + labels + `,le="` + le + `"} `
					case b == len(les):
						prefix = histFamily + "_count{" + labels + "} "
					default:
						prefix = histFamily + "_sum{" + labels + "} "
					}
					for k := range ts {
						if !present[k] {
							continue
						}
						line = append(line[:0], prefix...)
						v := series[c][k][b]
						if b == len(les)+1 {
							line = strconv.AppendFloat(line, v, 'f', 4, 64)
						} else {
							line = strconv.AppendFloat(line, v, 'f', -1, 64)
						}
						line = append(line, stamps[k]...)
						line = append(line, '\n')
						if _, err := bw.Write(line); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	fmt.Fprintf(bw, "# TYPE %s counter\n# HELP %s Log records by severity.\n", logFamily, logFamily)
	for _, s := range scenarios {
		ts := samples(anchor, s, scrape)
		for ki, k := range s.logKeys() {
			vals, present := s.logSeries(anchor, ts, scrape, ki, k)
			prefix := fmt.Sprintf(`%s_total{service_name=%q,severity=%q`, logFamily, s.Name, k.severity)
			if k.exception != "" {
				prefix += fmt.Sprintf(`,exception_type=%q`, k.exception)
			}
			prefix += `,job="otel-collector"} `
			for i, t := range ts {
				if !present[i] {
					continue
				}
				line = append(line[:0], prefix...)
				line = strconv.AppendFloat(line, vals[i], 'f', -1, 64)
				line = append(line, ' ')
				line = appendStamp(line, s, t, i, scrape)
				line = append(line, '\n')
				if _, err := bw.Write(line); err != nil {
					return err
				}
			}
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// appendStamp appends the timestamp (seconds, millisecond precision) of sample k at nominal
// time t, as a real Prometheus records it: each target is scraped at its own phase within the
// interval (Prometheus spreads targets by a hash), here derived from the scenario's seed, and
// every scrape lands a few milliseconds late. The stamp stays inside (t − scrape, t): the next
// multiple of the interval gives the nominal time back. So samples never sit on the query grid's minute
// boundaries, and a range of one scrape interval holds one sample, not two.
func appendStamp(b []byte, s Scenario, t time.Time, k int, scrape time.Duration) []byte {
	phase := time.Duration(10+splitmix64(s.seed)%uint64(scrape.Milliseconds()-20)) * time.Millisecond // in (0, scrape)
	jitter := time.Duration(splitmix64(s.seed^uint64(k)*0x9e3779b97f4a7c15)%9) * time.Millisecond
	ms := t.Add(-phase + jitter).UnixMilli()
	return strconv.AppendFloat(b, float64(ms)/1000, 'f', 3, 64)
}

func (s Scenario) histLabels(u unit, code string) string {
	rt := s.routes[u.route]
	l := fmt.Sprintf(`service_name=%q,http_route=%q,http_request_method=%q,http_response_status_code=%q`, s.Name, rt.path, rt.method, code)
	for i := 0; i+1 < len(s.labels); i += 2 {
		l += fmt.Sprintf(`,%s=%q`, s.labels[i], s.labels[i+1])
	}
	if u.pod != "" {
		l += fmt.Sprintf(`,k8s_pod_name=%q,instance=%q`, u.pod, u.pod+":9464")
	}
	return l
}
