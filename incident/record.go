package incident

import (
	"time"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/profile"
)

// Record is what an IncidentWorkflow stores about itself (the activity SaveIncident). The
// workflow hands over typed values; the activity does the JSON encoding, which has no place in
// workflow code.
type Record struct {
	WorkflowID string        `json:"workflow_id"`
	RunID      string        `json:"run_id"`
	Alert      profile.Alert `json:"alert"`
	Status     string        `json:"status"`
	Report     string        `json:"report,omitempty"`
	Language   string        `json:"language,omitempty"`
	Details    *Details      `json:"details,omitempty"`
}

// Details is the structured part of a stored incident: the facts the report rests on and
// how the report was obtained (or why it was not).
type Details struct {
	Facts []analyst.Fact `json:"facts,omitempty"`
	// Investigation is what was found about the alert's application: recent deployments,
	// metrics against their baselines, endpoint tables, and the parts that failed.
	Investigation *analyst.Investigation `json:"investigation,omitempty"`
	Provider      string                 `json:"provider,omitempty"`
	Model         string                 `json:"model,omitempty"`
	LinkIndex     int                    `json:"link_index"`
	Attempts      int                    `json:"attempts,omitempty"`
	RoleVersion   int                    `json:"role_version,omitempty"`
	Failures      []gateway.LinkFailure  `json:"failures,omitempty"`
	Step          string                 `json:"step,omitempty"`
	Error         string                 `json:"error,omitempty"`
	// Group lists the alerts of the incident's group, when it has more than one.
	Group []GroupAlert `json:"group,omitempty"`
	// Deliveries says, per channel, whether the report was delivered.
	Deliveries []notify.DeliveryState `json:"deliveries,omitempty"`
	// OnCall is the workflow ID of the on-call page the incident started, if any.
	OnCall string `json:"oncall,omitempty"`
}

// GroupAlert is one alert folded into an incident.
type GroupAlert struct {
	Fingerprint string    `json:"fingerprint"`
	Rule        string    `json:"rule"`
	Application string    `json:"application,omitempty"`
	Instance    string    `json:"instance,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	StartsAt    time.Time `json:"starts_at"`
	Status      string    `json:"status"` // firing | resolved
}

// GroupAlertOf is the part of an alert an incident keeps about each alert of its group.
func GroupAlertOf(a profile.Alert) GroupAlert {
	return GroupAlert{Fingerprint: a.Fingerprint, Rule: a.Rule, Instance: a.Instance,
		Application: a.Application, Severity: a.Severity, StartsAt: a.StartsAt, Status: "firing"}
}
