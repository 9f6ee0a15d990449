package changecorpus

import (
	"math"
	"time"
)

// Expected application states and gate decisions.
const (
	Stable       = "STABLE"
	MostlyStable = "MOSTLY_STABLE"
	Unstable     = "UNSTABLE"
	Proceed      = "proceed"
	Hold         = "hold"
)

// Scenario is one labelled deployment situation. Its labels (Want, WantKinds, NotCollected,
// WantGate) are the truth about what happened in the generated data, decided from the data's
// design, not from any engine's answer.
type Scenario struct {
	Name   string        // unique; also the application name (service_name), e.g. "error-jump"
	Family string        // the family it covers, e.g. "error-rate jump", "daily rhythm"
	Window time.Duration // the checkpoint window judged after the finish: 10m, 1h or 4h
	Want   string        // expected application state after the deployment: STABLE | MOSTLY_STABLE | UNSTABLE
	// WantKinds are, for a state other than STABLE, the metric kinds the verdict must name
	// (TRANSACTION, ISSUE, ALERT). Empty for a new service: nothing is at fault, there is only
	// nothing to compare with.
	WantKinds []string
	// MayKinds are kinds the verdict may name besides WantKinds because the data truly moves them
	// too (error logs follow 5xx answers, so an error jump also raises error_logs: ISSUE).
	MayKinds     []string
	NotCollected []string // metrics that must be reported "not collected" (error_logs, fatal_logs without a log pipeline)
	WantGate     string   // expected pre-deployment gate: "proceed" or "hold"
	HeldOut      bool     // kept out of tuning; checked last
	RPS          float64  // nominal requests per second before the finish (all routes, before rhythms)
	Note         string   // what happens, in one sentence

	seed      uint64
	err       float64 // nominal 500 share
	lat       dist    // nominal response time
	routes    []route
	pods      []string // k8s pods serving the routes (none: one unnamed source)
	newPods   []string // pods replacing pods at the finish (a rollout: new series from 0)
	labels    []string // constant extra label pairs (job, instance, namespace ...)
	noise     float64  // per-minute coefficient of variation of traffic, error share and latency
	noLogs    bool     // no log pipeline: no log_records_total at all
	resets    []time.Duration
	http      func(a at, r int, t *traffic)
	logs      func(a at, k logKey, rate *float64, tot totals)
	extraLogs []logKey
}

// Finish is when the deployment finished: the judged window is [Finish, anchor].
func Finish(anchor time.Time, s Scenario) time.Time { return anchor.Add(-s.Window) }

// Planned is when the deployment was planned: the pre-deployment gate judges [Planned-30m, Planned].
func Planned(anchor time.Time, s Scenario) time.Time { return Finish(anchor, s).Add(-5 * time.Minute) }

// Resets are the moments (after the finish) at which the scenario's HTTP counters drop to 0
// inside the same series (a container restart in the same pod). A rollout to new pods at the
// finish starts new series instead and is not listed.
func Resets(anchor time.Time, s Scenario) []time.Time {
	var ts []time.Time
	for _, r := range s.resets {
		ts = append(ts, Finish(anchor, s).Add(r))
	}
	return ts
}

// Lookup returns the scenario named name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

const (
	transaction = "TRANSACTION"
	issue       = "ISSUE"
)

var noLogMetrics = []string{"error_logs", "fatal_logs"}

// base is a healthy service: 100 rps on one route, 0.5 % 500s, median 80 ms.
func base(name, family string, seed uint64) Scenario {
	return Scenario{
		Name: name, Family: family, Window: time.Hour, Want: Stable, WantGate: Proceed,
		RPS: 100, seed: seed, err: 0.005, lat: lognormal(0.080, 0.5),
		routes: []route{{path: "/api/orders", method: "GET", share: 1}},
		labels: []string{"job", "otel-collector"},
	}
}

func unstable(s Scenario, kinds ...string) Scenario {
	s.Want, s.WantKinds = Unstable, kinds
	return s
}

func mostlyStable(s Scenario, kinds ...string) Scenario {
	s.Want, s.WantKinds = MostlyStable, kinds
	return s
}

// then chains traffic changes.
func then(fs ...func(a at, r int, t *traffic)) func(a at, r int, t *traffic) {
	return func(a at, r int, t *traffic) {
		for _, f := range fs {
			f(a, r, t)
		}
	}
}

// errAfter sets the 500 share after the finish.
func errAfter(share float64) func(a at, r int, t *traffic) {
	return func(a at, _ int, t *traffic) {
		if a.after() {
			t.err = share
		}
	}
}

// latAfter sets the response time after the finish.
func latAfter(d dist) func(a at, r int, t *traffic) {
	return func(a at, _ int, t *traffic) {
		if a.after() {
			t.lat = d
		}
	}
}

// rpsAfter multiplies the traffic after the finish.
func rpsAfter(f float64) func(a at, r int, t *traffic) {
	return func(a at, _ int, t *traffic) {
		if a.after() {
			t.rps *= f
		}
	}
}

// morningRamp is a daily load in [0.5, 1] rising steeply across the judged window (k sets the
// steepness) and falling again in the evening; latency grows slightly with load.
func morningRamp(k time.Duration) func(a at, r int, t *traffic) {
	return func(a at, _ int, t *traffic) {
		x := float64(a.dayPhase())
		l := 0.5 + 0.5*logistic(x/float64(k))*logistic(float64(9*time.Hour-a.dayPhase())/float64(time.Hour))
		t.rps *= l / 0.8
		t.lat = t.lat.scaled(0.9 + 0.2*l)
	}
}

// dailyWave is a smooth daily load 1±amp with its peak peak before the middle of the window.
func dailyWave(amp float64, peak time.Duration) func(a at, r int, t *traffic) {
	return func(a at, _ int, t *traffic) {
		l := 1 + amp*math.Cos(2*math.Pi*float64(a.dayPhase()+peak)/float64(24*time.Hour))
		t.rps *= l
		t.lat = t.lat.scaled(0.95 + 0.05*l)
	}
}

// weekend lowers traffic (and latency) on the virtual Saturday and Sunday; the deployment's
// day is a Monday that started dayStart before the finish.
func weekend(dayStart time.Duration, load, latency float64) func(a at, r int, t *traffic) {
	return func(a at, _ int, t *traffic) {
		if d := ((a.weekday(dayStart) % 7) + 7) % 7; d == 5 || d == 6 {
			t.rps *= load
			t.lat = t.lat.scaled(latency)
		}
	}
}

// drift multiplies latency by (1+perDay) per day, continuously, all week.
func drift(latPerDay, rpsPerDay float64) func(a at, r int, t *traffic) {
	return func(a at, _ int, t *traffic) {
		days := a.rel.Hours() / 24
		t.lat = t.lat.scaled(math.Pow(1+latPerDay, days))
		t.rps *= math.Pow(1+rpsPerDay, days)
	}
}

func newOnly(a at, _ int, t *traffic) { t.off = !a.after() }

func logsNewOnly(a at, _ logKey, rate *float64, _ totals) {
	if !a.after() {
		*rate = math.NaN()
	}
}

// variety is a Kubernetes service: three pods, four routes, job/instance/namespace labels.
func variety(s Scenario) Scenario {
	s.RPS = 150
	s.routes = []route{
		{path: "/api/products", method: "GET", share: 0.4},
		{path: "/api/products/{id}", method: "GET", share: 0.3, codes: []string{"404"}},
		{path: "/api/cart", method: "POST", share: 0.2},
		{path: "/api/cart", method: "GET", share: 0.1},
	}
	s.pods = []string{s.Name + "-6f7c9d-2xkqp", s.Name + "-6f7c9d-8mzlw", s.Name + "-6f7c9d-tq4rn"}
	s.labels = []string{"job", "kubernetes-pods", "k8s_namespace_name", "shop"}
	s.http = func(a at, r int, t *traffic) {
		if r == 1 {
			t.e404 = 0.03
		}
	}
	return s
}

// rollout replaces two pods by two new ones at the finish and restarts a container mid-window.
func rollout(s Scenario) Scenario {
	s.pods = []string{s.Name + "-7d9f-abcde", s.Name + "-7d9f-fghij"}
	s.newPods = []string{s.Name + "-5c6b-klmno", s.Name + "-5c6b-pqrst"}
	s.labels = []string{"job", "kubernetes-pods"}
	s.resets = []time.Duration{s.Window / 2}
	return s
}

// Scenarios returns the corpus: the tuning scenarios, then the held-out ones (HeldOut).
//
// Use: anchor := time.Now().Truncate(scrape); url, stop, err := Load(dir, anchor, scrape,
// Scenarios()); then for each scenario announce a deployment of application s.Name planned at
// Planned(anchor, s) and finished at Finish(anchor, s), and compare the verdict with s.Want,
// s.WantKinds (must be named; s.MayKinds may be), s.NotCollected and s.WantGate. Measure(url,
// anchor, scrape, s) tells what the data shows, for the log of a miss. The data ends at the
// anchor: judge the window ending there, not later. No scenario has alerts (ALERTS is empty:
// alerts_firing is 0 everywhere).
func Scenarios() []Scenario {
	var out []Scenario
	add := func(s Scenario) { out = append(out, s) }

	s := unstable(base("error-jump", "error-rate jump", 101), transaction)
	s.MayKinds, s.Note = []string{issue}, "5xx share 0.5 % → 8 % after the finish at 100 rps"
	s.http = errAfter(0.08)
	add(s)

	s = unstable(base("error-jump-low-traffic", "error-rate jump, low traffic", 102), transaction)
	s.RPS, s.err, s.MayKinds, s.Note = 2, 0.01, []string{issue}, "5xx share 1 % → 10 % at 2 rps"
	s.http = errAfter(0.10)
	add(s)

	s = base("tiny-error-change", "tiny error change", 103)
	s.err, s.Note = 0.0001, "5xx share 0.01 % → 0.02 %: a handful of errors more per hour"
	s.http = errAfter(0.0002)
	add(s)

	s = unstable(base("moderate-error-rise", "moderate error rise", 104), transaction)
	s.MayKinds, s.Note = []string{issue}, "5xx share 0.5 % → 2 %"
	s.http = errAfter(0.02)
	add(s)

	s = unstable(base("latency-p50-shift", "latency shift in p50", 105), transaction)
	s.Note = "median 80 ms → 200 ms"
	s.http = latAfter(lognormal(0.200, 0.5))
	add(s)

	s = unstable(base("latency-tail-shift", "latency shift only in p95", 106), transaction)
	s.lat = lognormal(0.080, 0.45).withTail(0.02, 1.5, 0.25)
	s.Note = "median unchanged, slow tail at ~1.5 s 2 % → 12 % of requests (p95 ~0.2 s → ~1.3 s)"
	s.http = latAfter(lognormal(0.080, 0.45).withTail(0.12, 1.5, 0.25))
	add(s)

	s = base("small-latency-change", "small latency change", 107)
	s.Note = "all response times +8 %"
	s.http = latAfter(lognormal(0.080*1.08, 0.5))
	add(s)

	s = base("latency-improved", "latency improved", 108)
	s.lat, s.Note = lognormal(0.200, 0.5), "median 200 ms → 80 ms"
	s.http = latAfter(lognormal(0.080, 0.5))
	add(s)

	s = unstable(base("traffic-drop", "traffic drop", 109), transaction)
	s.Note = "100 → 30 rps after the finish"
	s.http = rpsAfter(0.3)
	add(s)

	s = unstable(base("traffic-gone", "traffic gone", 110), transaction)
	s.Note = "no requests at all after the finish: the HTTP series stop (the process still logs)"
	s.http = func(a at, _ int, t *traffic) { t.off = a.after() }
	add(s)

	s = base("throughput-dip", "ordinary throughput movement", 111)
	s.Note = "traffic −25 %, nothing else"
	s.http = rpsAfter(0.75)
	add(s)

	s = base("traffic-surge", "traffic surge", 112)
	s.Note = "traffic ×2 without errors or latency change"
	s.http = rpsAfter(2)
	add(s)

	s = base("daily-rhythm", "daily rhythm", 113)
	s.RPS, s.Note = 120, "morning ramp: traffic +60 % across the window, latency slightly load-dependent, same every day"
	s.http = morningRamp(18 * time.Minute)
	add(s)

	s = unstable(base("daily-rhythm-error-jump", "daily rhythm with an error jump", 114), transaction)
	s.RPS, s.MayKinds, s.Note = 120, []string{issue}, "the morning ramp of daily-rhythm plus 5xx 0.5 % → 6 %"
	s.http = then(morningRamp(18*time.Minute), errAfter(0.06))
	add(s)

	s = base("monday-after-weekend", "weekly rhythm", 115)
	s.RPS, s.Note = 80, "first hours of a Monday: the 1-day baseline is a Sunday (traffic −60 %, latency −15 %), the 1-week baseline last Monday"
	s.http = weekend(3*time.Hour, 0.4, 0.85)
	add(s)

	s = base("batch-job-errors", "batch job error window", 116)
	s.routes = []route{{path: "/api/orders", method: "GET", share: 0.8}, {path: "/api/reports/export", method: "POST", share: 0.2}}
	s.Note = "every day at the same time 5 % errors on /api/reports/export (20 % of traffic) for 30 minutes inside the window, also in both baselines"
	s.http = func(a at, r int, t *traffic) {
		if x := a.dayPhase() + a.window/2; r == 1 && x >= 15*time.Minute && x < 45*time.Minute {
			t.err = 0.05
		}
	}
	add(s)

	s = base("noisy-unchanged", "noisy but unchanged", 117)
	s.RPS, s.err, s.noise = 40, 0.01, 0.3
	s.Note = "per-minute noise CV 30 % on traffic, latency and error share, nothing changes"
	add(s)

	s = base("slow-drift", "slow drift over days", 118)
	s.Note = "latency +4 %/day all week (+32 % against the week), nothing at the finish"
	s.http = drift(0.04, 0)
	add(s)

	s = base("incident-fixed", "deployment that fixed an incident", 119)
	s.WantGate = Hold
	s.Note = "5xx 6 % during the 3 hours before the finish (baselines 0.5 %), 0.5 % after: the gate holds, the result is fine"
	s.http = func(a at, _ int, t *traffic) {
		if a.day == 0 && a.since >= -3*time.Hour && a.since < 0 {
			t.err = 0.06
		}
	}
	add(s)

	s = mostlyStable(base("new-service", "new service", 120))
	s.RPS, s.Note = 50, "no data at all before the finish (series start at the finish), healthy after: nothing to compare"
	s.http, s.logs = newOnly, logsNewOnly
	add(s)

	s = base("no-log-pipeline", "no log pipeline", 121)
	s.noLogs, s.NotCollected, s.Note = true, noLogMetrics, "no log_records_total at all, healthy"
	add(s)

	s = unstable(base("no-log-pipeline-error-jump", "no log pipeline with an error-rate jump", 122), transaction)
	s.noLogs, s.NotCollected, s.Note = true, noLogMetrics, "no log_records_total, 5xx 0.5 % → 8 %"
	s.http = errAfter(0.08)
	add(s)

	s = base("sparse-unchanged", "sparse low-traffic service", 123)
	s.RPS, s.err, s.Note = 0.3, 0.01, "0.3 rps, unchanged"
	add(s)

	s = unstable(base("sparse-error-jump", "sparse service with an error jump", 124), transaction)
	s.RPS, s.err, s.MayKinds, s.Note = 0.5, 0.01, []string{issue}, "0.5 rps, 5xx 1 % → 25 %"
	s.http = errAfter(0.25)
	add(s)

	s = rollout(base("restarts", "counter resets from restarts", 125))
	s.Note = "new pods at the finish (new series from 0) and a container restart mid-window (counters drop to 0), nothing else"
	add(s)

	s = unstable(rollout(base("restarts-latency-shift", "counter resets with a latency shift", 126)), transaction)
	s.Note = "the restarts of restarts plus median 80 → 250 ms"
	s.http = latAfter(lognormal(0.250, 0.5))
	add(s)

	s = mostlyStable(base("error-logs-new-exception", "error logs jump with a new exception type", 127), issue)
	s.extraLogs = []logKey{{"ERROR", "DataIntegrityViolationException"}}
	s.Note = "ERROR log records ×5 after the finish, from a new exception_type; HTTP unchanged"
	s.logs = func(a at, k logKey, rate *float64, tot totals) {
		if k.exception == "DataIntegrityViolationException" {
			*rate = math.NaN()
			if a.after() {
				*rate = 4 * (0.8*tot.errRPS + 0.005 + 0.01)
			}
		}
	}
	add(s)

	s = mostlyStable(base("log-pipeline-gone", "log pipeline gone", 128), issue)
	s.Note = "log records in both baselines and before the finish, none after; HTTP unchanged"
	s.logs = func(a at, _ logKey, rate *float64, _ totals) {
		if a.after() {
			*rate = math.NaN()
		}
	}
	add(s)

	s = mostlyStable(base("fatal-logs-appear", "FATAL logs appear", 129), issue)
	s.extraLogs = []logKey{{"FATAL", "OutOfMemoryError"}}
	s.Note = "no FATAL record before, ~2/min after; HTTP unchanged"
	s.logs = func(a at, k logKey, rate *float64, _ totals) {
		if k.severity == "FATAL" {
			*rate = math.NaN()
			if a.after() {
				*rate = 2.0 / 60
			}
		}
	}
	add(s)

	s = variety(base("label-variety", "label variety", 130))
	s.Note = "3 pods, 4 routes (404s on one), job/namespace/instance/pod labels, healthy"
	add(s)

	s = unstable(variety(base("label-variety-route-tail", "label variety with a p95 shift on one route", 131)), transaction)
	s.Note = "as label-variety, then 35 % of /api/products/{id} (30 % of traffic) take ~1.2 s: overall p95 shifts"
	h := s.http
	s.http = func(a at, r int, t *traffic) {
		h(a, r, t)
		if r == 1 && a.after() {
			t.lat = t.lat.withTail(0.35, 1.2, 0.3)
		}
	}
	add(s)

	s = base("short-window-healthy", "10-minute window", 132)
	s.Window, s.Note = 10*time.Minute, "10-minute window, healthy"
	add(s)

	s = unstable(base("short-window-error-jump", "10-minute window with an error jump", 133), transaction)
	s.Window, s.MayKinds, s.Note = 10*time.Minute, []string{issue}, "10-minute window, 5xx 0.5 % → 8 %"
	s.http = errAfter(0.08)
	add(s)

	s = unstable(base("short-window-latency", "10-minute window with a latency shift", 134), transaction)
	s.Window, s.Note = 10*time.Minute, "10-minute window, median 80 → 300 ms"
	s.http = latAfter(lognormal(0.300, 0.5))
	add(s)

	s = base("long-window-daily", "4-hour window with daily rhythm", 135)
	s.Window, s.Note = 4*time.Hour, "4-hour window over the afternoon decline of a daily wave (traffic −35 % across it), same every day"
	s.http = dailyWave(0.45, 3*time.Hour)
	add(s)

	// Held out: other seeds, rates, routes and shapes.
	ho := func(s Scenario) Scenario { s.HeldOut = true; return s }

	s = ho(unstable(base("ho-payments-error-jump", "error-rate jump", 9001), transaction))
	s.Window, s.RPS, s.err, s.noise, s.MayKinds = 4*time.Hour, 60, 0.002, 0.2, []string{issue}
	s.routes = []route{{path: "/v1/payments", method: "POST", share: 0.7}, {path: "/v1/payments/{id}", method: "GET", share: 0.3}}
	s.Note = "60 rps with per-minute noise, 5xx 0.2 % → 4 %"
	s.http = errAfter(0.04)
	add(s)

	s = ho(unstable(base("ho-db-pool-wait", "latency shift only in p95", 9002), transaction))
	s.RPS, s.lat = 35, lognormal(0.045, 0.45)
	s.routes = []route{{path: "/graphql", method: "POST", share: 1}}
	s.Note = "15 % of requests wait ~0.6 s for a database connection: p90/p95 shift, p50 barely"
	s.http = latAfter(lognormal(0.045, 0.45).withTail(0.15, 0.6, 0.4))
	add(s)

	s = ho(base("ho-monday-drift", "weekly rhythm", 9003))
	s.Window, s.RPS, s.lat = 4*time.Hour, 45, lognormal(0.060, 0.5)
	s.routes = []route{{path: "/api/v2/invoices", method: "GET", share: 0.6}, {path: "/api/v2/invoices", method: "PUT", share: 0.4}}
	s.Note = "Monday after a weekend (1-day baseline −70 % traffic, latency −10 %), with latency +1.5 %/day and traffic +2 %/day all week (p50/p95 stay in their histogram buckets)"
	s.http = then(weekend(90*time.Minute, 0.3, 0.9), drift(0.015, 0.02))
	add(s)

	s = ho(base("ho-sparse-no-logs", "sparse without a log pipeline", 9004))
	s.Window, s.RPS, s.err, s.noLogs, s.NotCollected = 10*time.Minute, 0.2, 0.005, true, noLogMetrics
	s.routes = []route{{path: "/admin/reindex", method: "POST", share: 1}}
	s.Note = "0.2 rps, no log pipeline, healthy"
	add(s)

	s = ho(unstable(base("ho-traffic-drop", "traffic drop", 9005), transaction))
	s.Window, s.RPS = 10*time.Minute, 150
	s.routes = []route{{path: "/api/feed", method: "GET", share: 1}}
	s.Note = "150 → 30 rps (−80 %)"
	s.http = rpsAfter(0.2)
	add(s)

	s = ho(rollout(base("ho-restarts-daily", "counter resets with daily rhythm", 9006)))
	s.routes = []route{{path: "/api/stock/{sku}", method: "GET", share: 0.85}, {path: "/api/stock/{sku}", method: "PATCH", share: 0.15}}
	s.Window, s.RPS = 4*time.Hour, 70
	s.resets = []time.Duration{75 * time.Minute, 170 * time.Minute}
	s.Note = "rollout to new pods at the finish, two container restarts, daily wave; healthy"
	s.http = dailyWave(0.3, -time.Hour)
	add(s)

	s = ho(base("ho-latency-incident-fixed", "deployment that fixed an incident", 9007))
	s.RPS, s.routes = 55, []route{{path: "/api/checkout", method: "POST", share: 1}}
	s.labels = []string{"job", "checkout", "instance", "10.4.2.17:9464"}
	s.WantGate, s.lat = Hold, lognormal(0.090, 0.5)
	s.Note = "median 1.2 s during the 2 hours before the finish, 90 ms after and in the baselines: gate holds, result fine"
	s.http = func(a at, _ int, t *traffic) {
		if a.day == 0 && a.since >= -2*time.Hour && a.since < 0 {
			t.lat = lognormal(1.2, 0.4)
		}
	}
	add(s)

	s = ho(mostlyStable(base("ho-new-service", "new service", 9008)))
	s.Window, s.RPS = 4*time.Hour, 12
	s.routes = []route{{path: "/v1/recommendations", method: "GET", share: 1}}
	s.Note = "first deployment of a service: series start at the finish, healthy"
	s.http, s.logs = newOnly, logsNewOnly
	add(s)

	s = ho(base("ho-warn-logs", "WARN logs rise", 9009))
	s.routes = []route{{path: "/api/profile", method: "GET", share: 0.9}, {path: "/api/profile", method: "PUT", share: 0.1}}
	s.RPS = 25
	s.Note = "WARN log records ×4 after the finish (WARN is not judged), nothing else"
	s.logs = func(a at, k logKey, rate *float64, _ totals) {
		if k.severity == "WARN" && a.after() {
			*rate *= 4
		}
	}
	add(s)

	s = ho(base("ho-traffic-x3", "traffic surge", 9010))
	s.routes = []route{{path: "/img/{id}", method: "GET", share: 1, codes: []string{"404"}}}
	s.RPS, s.lat = 30, lognormal(0.060, 0.5)
	s.Note = "traffic ×3 with latency +10 %"
	s.http = then(func(_ at, _ int, t *traffic) { t.e404 = 0.01 }, rpsAfter(3), latAfter(lognormal(0.066, 0.5)))
	add(s)

	s = ho(base("ho-404-surge", "404 surge", 9011))
	s.RPS = 80
	s.routes = []route{{path: "/api/search", method: "GET", share: 1, codes: []string{"404"}}}
	s.Note = "a crawler adds 35 rps of 404s (4xx is not an error); 5xx and 2xx latency unchanged"
	s.http = func(a at, _ int, t *traffic) {
		t.e404 = 0.02
		if a.after() {
			t.e404 = (0.02*t.rps + 35) / (t.rps + 35)
			t.err = t.err * t.rps / (t.rps + 35)
			t.rps += 35
		}
	}
	add(s)
	return out
}
