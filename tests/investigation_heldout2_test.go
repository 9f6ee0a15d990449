package tests

import (
	"testing"
	"time"
)

// The second held-out labelled set of the investigation, written and labelled like the first
// (heldOutAlerts) by someone who had not read the analyst's rules, and committed before it ran.
// Each label is the cause a competent person on call would name from the facts of the case; a
// deployment is planned five minutes before it finishes (announceFinished), so an onset before
// Before+5m predates the deployment's start.

// heldOutAlerts2 is the second held-out set; the labels were written before the test ran.
var heldOutAlerts2 = []heldOutAlert{
	// A deployment that broke the application, at various distances before the alert.
	{App: "h2-bd-01", Family: "bad-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h2-bd-01-r12", "4.4.0", 3 * time.Minute}},
		Phases:      []heldPhase{{At: -2 * time.Minute, Errors: 0.22}},
		Cause:       "deployment", Culprit: "h2-bd-01-r12",
		Why: "the deployment finished three minutes ago and one request in five has failed since the minute after: nothing else changed"},
	{App: "h2-bd-02", Family: "bad-deployment", Rule: "ErrorBudgetBurn",
		Deployments: []heldDeployment{{"h2-bd-02-r4", "9.1.0", 3 * time.Hour}},
		Phases:      []heldPhase{{At: -3*time.Hour + 2*time.Minute, Errors: 0.015, Slow: 1.4}},
		Cause:       "deployment", Culprit: "h2-bd-02-r4",
		Why: "5xx tripled (0.5 % to 1.5 %) and latency rose 40 % from two minutes after the deployment three hours ago; a slow burn, so the budget alert fired only now"},
	{App: "h2-bd-03", Family: "bad-deployment", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h2-bd-03-r6", "3.4.0", 4 * time.Hour}, {"h2-bd-03-r7", "3.3.1", 24 * time.Minute}},
		Phases:      []heldPhase{{At: -22 * time.Minute, Slow: 3}},
		Cause:       "deployment", Culprit: "h2-bd-03-r7",
		Why: "3.4.0 ran fine for almost four hours; the rollback to 3.3.1 is a deployment too, and latency tripled two minutes after it"},

	// A deployment that broke a route: the requests drop rather than fail.
	{App: "h2-br-01", Family: "broken-route", Rule: "LowRequestRate",
		Deployments: []heldDeployment{{"h2-br-01-r2", "2.0.0", 16 * time.Minute}},
		Phases:      []heldPhase{{At: -14 * time.Minute, Traffic: 0.35}},
		Cause:       "deployment", Culprit: "h2-br-01-r2",
		Why: "two thirds of the requests vanished two minutes after the 2.0.0 deployment: its routing no longer receives them"},
	{App: "h2-br-02", Family: "broken-route", Rule: "RequestRateDrop",
		Deployments: []heldDeployment{{"h2-br-02-r8", "1.12.0", 48 * time.Minute}},
		Phases:      []heldPhase{{At: -46 * time.Minute, Traffic: 0.55, Errors: 0.04}},
		Cause:       "deployment", Culprit: "h2-br-02-r8",
		Why: "from two minutes after the deployment, almost half the requests stopped arriving and 4 % of the rest fail"},

	// A deployment that ended an episode is not its cause.
	{App: "h2-fx-01", Family: "fixing-deployment", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h2-fx-01-r3", "5.0.0", 38 * time.Minute}, {"h2-fx-01-r4", "4.9.2", 4 * time.Minute}},
		Phases:      []heldPhase{{At: -36 * time.Minute, Slow: 3.5}, {At: -2 * time.Minute}},
		Cause:       "deployment", Culprit: "h2-fx-01-r3",
		Why: "latency ×3.5 came with 5.0.0 and went with the rollback to 4.9.2: 5.0.0 is the cause, the rollback the remedy"},
	{App: "h2-fx-02", Family: "fixing-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h2-fx-02-r1", "1.8.0", 3*time.Hour + 10*time.Minute}, {"h2-fx-02-r2", "1.8.1", 85 * time.Minute}},
		Phases: []heldPhase{{At: -3*time.Hour - 8*time.Minute, Errors: 0.05}, {At: -83 * time.Minute},
			{At: -13 * time.Minute, Errors: 0.07, Slow: 3}},
		Cause: "dependency",
		Why:   "1.8.0's errors ended with the fix 1.8.1 eighty minutes ago; the new errors and slowness began seventy minutes after the fix with nothing changed"},

	// Errors that began before a deployment started: it landed into them and did not cause them.
	{App: "h2-ob-01", Family: "onset-before-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h2-ob-01-r5", "2.2.0", 29 * time.Minute}},
		Phases:      []heldPhase{{At: -41 * time.Minute, Errors: 0.06}},
		Cause:       "dependency",
		Why:         "5xx rose to 6 % seven minutes before the deployment even began and stayed the same through it"},
	{App: "h2-ob-02", Family: "onset-before-deployment", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h2-ob-02-r3", "6.0.4", 20 * time.Minute}},
		Phases:      []heldPhase{{At: -32 * time.Minute, Slow: 3}},
		Cause:       "dependency",
		Why:         "latency tripled seven minutes before the deployment began; the deployment changed nothing, so look elsewhere"},

	// Two deployments close together: the one that coincides with the onset is the suspect.
	{App: "h2-tw-01", Family: "two-deployments", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h2-tw-01-a", "8.3.0", 34 * time.Minute}, {"h2-tw-01-b", "8.3.1", 26 * time.Minute}},
		Phases:      []heldPhase{{At: -32 * time.Minute, Errors: 0.05}},
		Cause:       "deployment", Culprit: "h2-tw-01-a",
		Why: "errors began two minutes after 8.3.0; 8.3.1 eight minutes later neither started nor changed them"},
	{App: "h2-tw-02", Family: "two-deployments", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h2-tw-02-a", "0.14.0", 58 * time.Minute}, {"h2-tw-02-b", "0.15.0", 14 * time.Minute}},
		Phases:      []heldPhase{{At: -12 * time.Minute, Errors: 0.04, Slow: 2}},
		Cause:       "deployment", Culprit: "h2-tw-02-b",
		Why: "0.14.0 was healthy for three quarters of an hour; errors and latency ×2 began two minutes after 0.15.0"},

	// A deployment long before, healthy since: not the cause of a new episode.
	{App: "h2-ud-01", Family: "unrelated-deployment", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h2-ud-01-r9", "12.0.1", 3 * time.Hour}},
		Phases:      []heldPhase{{At: -15 * time.Minute, Errors: 0.06}},
		Cause:       "dependency",
		Why:         "the deployment ran healthy for almost three hours before 5xx rose to 6 % a quarter of an hour ago"},
	{App: "h2-ud-02", Family: "unrelated-deployment", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h2-ud-02-r2", "3.0.2", 100 * time.Minute}},
		Phases:      []heldPhase{{At: -9 * time.Minute, Slow: 4}},
		Cause:       "dependency",
		Why:         "latency ×4 from nine minutes ago, after ninety healthy minutes since the deployment: something it depends on slowed down"},

	// A dependency fails: no change, the same traffic.
	{App: "h2-do-01", Family: "dependency-outage", Rule: "HighLatency",
		Phases: []heldPhase{{At: -11 * time.Minute, Slow: 7}},
		Cause:  "dependency", Why: "latency ×7 with the usual traffic and errors and no deployment: a call it makes has become slow"},
	{App: "h2-do-02", Family: "dependency-outage", Rule: "UpstreamErrors",
		Phases: []heldPhase{{At: -14 * time.Minute, Errors: 0.10}},
		Cause:  "dependency", Why: "10 % 5xx at normal speed and traffic, no deployment: a service behind it refuses"},
	{App: "h2-do-03", Family: "dependency-outage", Rule: "DatabaseErrors",
		Phases: []heldPhase{{At: -8 * time.Minute, Errors: 0.18, Slow: 5}},
		Cause:  "dependency", Why: "18 % 5xx and latency ×5 at once, traffic as usual, nothing deployed: its database is failing"},

	// More requests than usual.
	{App: "h2-ts-01", Family: "traffic-spike", Rule: "HighLatency",
		Phases: []heldPhase{{At: -13 * time.Minute, Traffic: 4, Slow: 2.5}},
		Cause:  "traffic", Why: "four times the usual requests and latency ×2.5 from the same minute, no deployment"},
	{App: "h2-ts-02", Family: "traffic-spike", Rule: "HighErrorRate",
		Deployments: []heldDeployment{{"h2-ts-02-r6", "7.7.0", 42 * time.Minute}},
		Phases:      []heldPhase{{At: -12 * time.Minute, Traffic: 7, Errors: 0.06}},
		Cause:       "traffic", Why: "the deployment was healthy for half an hour; then seven times the usual requests arrived and 6 % were shed"},

	// Fewer requests than usual with no change of the application: its callers or the way to it.
	{App: "h2-td-01", Family: "traffic-drop", Rule: "LowRequestRate",
		Phases: []heldPhase{{At: -12 * time.Minute, Traffic: 0.2}},
		Cause:  "dependency", Why: "four fifths of the requests stopped arriving with no deployment: an upstream or the load balancer stopped sending"},
	{App: "h2-td-02", Family: "traffic-drop", Rule: "RequestRateDrop",
		Deployments: []heldDeployment{{"h2-td-02-r3", "2.5.0", 150 * time.Minute}},
		Phases:      []heldPhase{{At: -18 * time.Minute, Traffic: 0.3}},
		Cause:       "dependency", Why: "the requests fell to 30 % two hours after a deployment that had served them normally: the callers stopped sending"},

	// Latency creeping up for hours.
	{App: "h2-lk-01", Family: "slow-leak", Rule: "HighLatency",
		Deployments: []heldDeployment{{"h2-lk-01-r5", "4.1.0", 4 * time.Hour}},
		Phases:      []heldPhase{{At: -4*time.Hour + 2*time.Minute, Slow: 4, Ramp: true}},
		Cause:       "deployment", Culprit: "h2-lk-01-r5",
		Why: "flat before the deployment, then latency climbs steadily from it to ×4 four hours later: the release leaks"},
	{App: "h2-lk-02", Family: "slow-leak", Rule: "SlowResponses",
		Deployments: []heldDeployment{{"h2-lk-02-r8", "1.0.7", 2 * time.Hour}},
		Phases:      []heldPhase{{At: -6 * time.Hour, Slow: 3.5, Ramp: true}},
		Cause:       "dependency",
		Why:         "latency had been climbing for four hours before the deployment and kept the same slope after it: the deployment did not start it"},

	// Nothing in Prometheus about the application.
	{App: "h2-mm-01", Family: "missing-metrics", Rule: "HighLatency", NoMetrics: true,
		Cause: "none", Why: "no series and no deployment of the application: nothing to name, the report must say what it looked at"},
	{App: "h2-mm-02", Family: "missing-metrics", Rule: "HighErrorRate", NoMetrics: true,
		Deployments: []heldDeployment{{"h2-mm-02-r1", "0.9.0", 4 * time.Minute}},
		Cause:       "deployment", Culprit: "h2-mm-02-r1",
		Why: "no metrics to compare, but the alert fired four minutes after a deployment: the deployment is the suspect"},
}

// TestInvestigationHeldOut2 runs the second held-out set like TestInvestigationHeldOut and prints
// the share of reports naming the labelled cause per family, in English and Korean. It fails
// below 50 %: a measurement, not a gate.
func TestInvestigationHeldOut2(t *testing.T) {
	runHeldOut(t, heldOutAlerts2)
}
