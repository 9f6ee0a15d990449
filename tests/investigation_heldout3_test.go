package tests

import (
	"testing"
	"time"
)

// The third held-out labelled set of the investigation, written and labelled like the first two
// (heldOutAlerts, heldOutAlerts2) by someone who had not read the analyst's rules, and committed
// before it ran. Each label is the cause a competent person on call would name from the facts of
// the case. A deployment is planned five minutes before it finishes (announceFinished): an onset
// more than Before+5m before the alert predates the deployment's start, an onset between Before+5m
// and Before falls inside its rollout.

// heldOutAlerts3 is the third held-out set; the labels were written before the test ran.
var heldOutAlerts3 = []heldOutAlert{
	// A deployment that broke the application: errors only, latency only, both.
	{App: "h3-bd-01", Family: "bad-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h3-bd-01-r14", "2.9.0", 6 * time.Minute}},
		Phases:      []heldPhase{{At: -5 * time.Minute, Errors: 0.30}},
		Cause:       "deployment", Culprit: "h3-bd-01-r14",
		Why: "almost a third of the requests fail from the minute after 2.9.0 finished six minutes ago; traffic and latency did not move"},
	{App: "h3-bd-02", Family: "bad-deployment", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h3-bd-02-r3", "0.41.0", 70 * time.Minute}},
		Phases:      []heldPhase{{At: -69 * time.Minute, Slow: 1.4}},
		Cause:       "deployment", Culprit: "h3-bd-02-r3",
		Why: "the median went up 40 % the minute after 0.41.0 landed and has stayed there for 70 minutes; nothing else changed, it is the release's cost"},
	{App: "h3-bd-03", Family: "bad-deployment", Rule: "SlowResponses",
		Deployments: []heldDeployment{{"h3-bd-03-r22", "15.0.0", 20 * time.Minute}},
		Phases:      []heldPhase{{At: -18 * time.Minute, Errors: 0.025, Slow: 10}},
		Cause:       "deployment", Culprit: "h3-bd-03-r22",
		Why: "two minutes after 15.0.0 finished, latency went ×10 and 5xx ×5 together at normal traffic: the new major version"},

	// A bad deployment followed by a healthy one that changed nothing.
	{App: "h3-bu-01", Family: "bad-then-unrelated", Rule: "LatencySLOBurn",
		Deployments: []heldDeployment{{"h3-bu-01-r30", "1.31.0", 100 * time.Minute}, {"h3-bu-01-r31", "1.31.1", 6 * time.Minute}},
		Phases:      []heldPhase{{At: -98 * time.Minute, Slow: 2.8}},
		Cause:       "deployment", Culprit: "h3-bu-01-r30",
		Why: "latency ×2.8 began two minutes after 1.31.0, a hundred minutes ago, and the SLO burn alert caught up only now; 1.31.1 six minutes ago left the curve exactly as it was"},

	// Three deployments within an hour: the middle one started it.
	{App: "h3-th-01", Family: "three-deployments", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h3-th-01-a", "7.1.0", 50 * time.Minute}, {"h3-th-01-b", "7.2.0", 20 * time.Minute},
			{"h3-th-01-c", "7.2.1", 1 * time.Minute}},
		Phases: []heldPhase{{At: -18 * time.Minute, Slow: 4}},
		Cause:  "deployment", Culprit: "h3-th-01-b",
		Why: "7.1.0 ran healthy for half an hour; latency ×4 from two minutes after 7.2.0; 7.2.1 a minute ago is the latest but the slowness was already 17 minutes old"},

	// A rollback shortly before the alert ended what the previous release caused.
	{App: "h3-rb-01", Family: "rollback", Rule: "ErrorBudgetBurn",
		Deployments: []heldDeployment{{"h3-rb-01-r8", "3.0.0", 70 * time.Minute}, {"h3-rb-01-r9", "2.9.4", 10 * time.Minute}},
		Phases:      []heldPhase{{At: -69 * time.Minute, Errors: 0.12}, {At: -9 * time.Minute}},
		Cause:       "deployment", Culprit: "h3-rb-01-r8",
		Why: "3.0.0 failed 12 % of requests for an hour and burned the budget; the rollback to 2.9.4 ten minutes ago stopped it, so 3.0.0 is the cause and the rollback the remedy"},
	{App: "h3-rb-02", Family: "rollback", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h3-rb-02-r5", "11.2.0", 20 * time.Minute}, {"h3-rb-02-r6", "11.1.3", 3 * time.Minute}},
		Phases:      []heldPhase{{At: -18 * time.Minute, Errors: 0.05, Slow: 5}, {At: -2 * time.Minute}},
		Cause:       "deployment", Culprit: "h3-rb-02-r5",
		Why: "5 % 5xx and latency ×5 from two minutes after 11.2.0; both back to normal the minute after the rollback to 11.1.3 three minutes ago"},

	// A fix, then a new episode with nothing changed.
	{App: "h3-fn-01", Family: "fix-then-new-episode", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h3-fn-01-r1", "6.4.0", 150 * time.Minute}, {"h3-fn-01-r2", "6.4.1", 70 * time.Minute}},
		Phases: []heldPhase{{At: -148 * time.Minute, Errors: 0.05}, {At: -68 * time.Minute},
			{At: -30 * time.Minute, Traffic: 5, Slow: 2.2}},
		Cause: "traffic",
		Why:   "6.4.0's errors ended with 6.4.1 seventy minutes ago; forty minutes after that five times the usual requests arrived and latency doubled with them"},
	{App: "h3-fn-02", Family: "fix-then-new-episode", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h3-fn-02-r7", "0.22.0", 100 * time.Minute}, {"h3-fn-02-r8", "0.22.1", 55 * time.Minute}},
		Phases:      []heldPhase{{At: -98 * time.Minute, Slow: 3}, {At: -53 * time.Minute}, {At: -20 * time.Minute, Errors: 0.20}},
		Cause:       "dependency",
		Why:         "0.22.1 cured 0.22.0's slowness and ran clean for 35 minutes; then a fifth of the requests began failing at normal traffic with no change: something it calls broke"},

	// The symptom began before the deployment started: it landed into it.
	{App: "h3-ob-01", Family: "onset-before-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h3-ob-01-r4", "2.3.0", 20 * time.Minute}},
		Phases:      []heldPhase{{At: -31 * time.Minute, Errors: 0.08}},
		Cause:       "dependency",
		Why:         "5xx at 8 % from eleven minutes before 2.3.0 finished, six before it began, and unchanged through it; the deployment is a bystander"},
	{App: "h3-ob-02", Family: "onset-before-deployment", Rule: "LatencySLOBurn",
		Deployments: []heldDeployment{{"h3-ob-02-r2", "4.0.1", 45 * time.Minute}},
		Phases:      []heldPhase{{At: -60 * time.Minute, Slow: 2.2}},
		Cause:       "dependency",
		Why:         "latency ×2.2 from a quarter of an hour before 4.0.1 landed, ten minutes before it started, at the same level since: not the deployment, not traffic"},

	// The symptom began while the deployment was rolling out.
	{App: "h3-mr-01", Family: "mid-rollout", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h3-mr-01-r3", "8.0.0", 1 * time.Minute}},
		Phases:      []heldPhase{{At: -4 * time.Minute, Errors: 0.12}},
		Cause:       "deployment", Culprit: "h3-mr-01-r3",
		Why: "8.0.0 began rolling out six minutes ago and finished one minute ago; 12 % 5xx from two minutes into the rollout, as the new pods took traffic"},

	// More requests than usual.
	{App: "h3-ts-01", Family: "traffic-spike", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h3-ts-01-r11", "5.5.2", 150 * time.Minute}},
		Phases:      []heldPhase{{At: -7 * time.Minute, Traffic: 8, Errors: 0.10}},
		Cause:       "traffic",
		Why:         "5.5.2 served normally for two and a half hours; seven minutes ago eight times the usual requests arrived and 10 % were shed"},
	{App: "h3-ts-02", Family: "traffic-spike", Rule: "HighLatency",
		Phases: []heldPhase{{At: -16 * time.Minute, Traffic: 2.5, Slow: 1.6}},
		Cause:  "traffic", Why: "2.5× the usual requests and latency +60 % from the same minute, nothing deployed, errors normal: it is saturating"},
	{App: "h3-ts-03", Family: "traffic-spike", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h3-ts-03-r6", "3.8.0", 6 * time.Minute}},
		Phases:      []heldPhase{{At: -25 * time.Minute, Traffic: 3, Slow: 3}},
		Cause:       "traffic",
		Why:         "three times the requests and latency ×3 from 25 minutes ago, fourteen minutes before 3.8.0 began; the deployment changed neither"},

	// A deployment that broke a route: the requests stop arriving.
	{App: "h3-br-01", Family: "broken-route", Rule: "LowRequestRate",
		Deployments: []heldDeployment{{"h3-br-01-r19", "1.6.0", 6 * time.Minute}},
		Phases:      []heldPhase{{At: -5 * time.Minute, Traffic: 0.2}},
		Cause:       "deployment", Culprit: "h3-br-01-r19",
		Why: "four fifths of the requests vanished the minute after 1.6.0 finished: its routes no longer receive them"},

	// A dependency fails: no change of the application, the same traffic.
	{App: "h3-do-01", Family: "dependency-outage", Rule: "UpstreamTimeouts",
		Deployments: []heldDeployment{{"h3-do-01-r2", "4.8.2", 2 * time.Hour}},
		Phases:      []heldPhase{{At: -9 * time.Minute, Errors: 0.15, Slow: 4}},
		Cause:       "dependency",
		Why:         "4.8.2 was healthy for almost two hours; nine minutes ago 15 % 5xx and latency ×4 at once, traffic as usual: an upstream is timing out"},
	{App: "h3-do-02", Family: "dependency-outage", Rule: "HighLatency",
		Phases: []heldPhase{{At: -6 * time.Minute, Slow: 10}},
		Cause:  "dependency", Why: "latency ×10 six minutes ago with normal traffic and errors and nothing deployed: a call it makes hangs until its timeout"},
	{App: "h3-do-03", Family: "dependency-outage", Rule: "HighErrorRate",
		Phases: []heldPhase{{At: -22 * time.Minute, Errors: 0.015}},
		Cause:  "dependency", Why: "5xx tripled to 1.5 % at normal speed and traffic with no deployment: a service behind it fails a share of calls"},

	// Latency creeping up for hours.
	{App: "h3-lk-01", Family: "slow-leak", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h3-lk-01-r12", "2.0.0", 150 * time.Minute}},
		Phases:      []heldPhase{{At: -149 * time.Minute, Slow: 2.5, Ramp: true}},
		Cause:       "deployment", Culprit: "h3-lk-01-r12",
		Why: "flat for hours, then latency climbs steadily from the minute after 2.0.0 to ×2.5 two and a half hours later: the release leaks"},
	{App: "h3-lk-02", Family: "slow-leak", Rule: "SlowResponses",
		Phases: []heldPhase{{At: -5 * time.Hour, Slow: 6, Ramp: true}},
		Cause:  "dependency",
		Why:    "latency has climbed steadily for five hours to ×6 with no deployment and normal traffic: the process or its host is exhausting something"},

	// Nothing in Prometheus about the application.
	{App: "h3-mm-01", Family: "missing-metrics", Rule: "HighErrorRate", NoMetrics: true,
		Cause: "none", Why: "no series and no deployment of the application: nothing to name, the report must say what it looked at"},
	{App: "h3-mm-02", Family: "missing-metrics", Rule: "HighLatency", NoMetrics: true,
		Deployments: []heldDeployment{{"h3-mm-02-r4", "3.3.0", 20 * time.Minute}},
		Cause:       "deployment", Culprit: "h3-mm-02-r4",
		Why: "no metrics to compare, but the alert fired twenty minutes after a deployment, the only change known: it is the suspect"},
	{App: "h3-mm-03", Family: "missing-metrics", Rule: "HighErrorRate", NoMetrics: true,
		Deployments: []heldDeployment{{"h3-mm-03-r1", "9.0.3", 150 * time.Minute}},
		Cause:       "none",
		Why:         "no metrics, and the only deployment was two and a half hours before an error-rate alert that would have fired within minutes had it broken anything: nothing to name"},
}

// TestInvestigationHeldOut3 runs the third held-out set like TestInvestigationHeldOut and prints
// the share of reports naming the labelled cause per family, in English and Korean. It fails
// below 50 %: a measurement, not a gate.
func TestInvestigationHeldOut3(t *testing.T) {
	runHeldOut(t, heldOutAlerts3)
}
