package starter

import (
	"errors"
	"net/http"
	"strconv"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/workflows"
)

// AlertAccepted is the 202 answer of the alert webhooks.
type AlertAccepted struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	// Status is "started" for a new investigation, "joined" when the alert's identity already
	// has one (a resend, or a repeat of the same alert).
	Status string `json:"status"`
	// Incident is the API path of the incident.
	Incident string `json:"incident"`
}

func (a *API) postAPMAlert(w http.ResponseWriter, r *http.Request, body []byte) {
	alert, err := profile.ParseAlert(body)
	if err != nil {
		writeProblem(w, alertProblem(err))
		return
	}
	if probs := alertLimits(alert); len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid alert", Errors: probs})
		return
	}
	res, err := a.startIncident(r, alert)
	if err != nil {
		a.Logger.Error("start incident workflow", "error", err)
		writeProblem(w, temporalProblem(err, "could not start the incident workflow"))
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

func (a *API) startIncident(r *http.Request, alert *profile.Alert) (AlertAccepted, error) {
	id := workflows.IncidentWorkflowID(alert)
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                a.TaskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         a.EagerStart,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrKind.ValueSet("incident"),
			workflows.SearchAttrApplication.ValueSet(alert.Application),
			workflows.SearchAttrRule.ValueSet(alert.Rule),
			workflows.SearchAttrSeverity.ValueSet(alert.Severity),
		),
	}
	res := AlertAccepted{WorkflowID: id, Status: "started", Incident: "/v1/incidents/" + id}
	run, err := a.Temporal.ExecuteWorkflow(r.Context(), opts, workflows.IncidentWorkflow,
		workflows.IncidentInput{Alert: *alert, Client: clientName(r), Investigation: a.Investigation})
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			res.RunID, res.Status = already.RunId, "joined"
			return res, nil
		}
		return AlertAccepted{}, err
	}
	res.RunID = run.GetRunID()
	return res, nil
}

// alertLimits checks the values of an alert that become search attributes and workflow-ID
// parts against MaxNameBytes.
func alertLimits(a *profile.Alert) []ProblemField {
	var probs []ProblemField
	limitField(&probs, "rule", a.Rule)
	limitField(&probs, "application", a.Application)
	limitField(&probs, "severity", a.Severity)
	limitField(&probs, "instance", a.Instance)
	limitField(&probs, "fingerprint", a.Fingerprint)
	limitField(&probs, "traceId", a.TraceID)
	return probs
}

func clientName(r *http.Request) string {
	if c := PrincipalFrom(r.Context()).Client; c != "" {
		return c
	}
	return "webhook"
}

// alertProblem turns a parse error into a problem naming each field at fault: 400 when the body
// is not valid JSON, 422 when it is JSON that breaks the alert schema.
func alertProblem(err error) Problem {
	p := Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid alert", Detail: err.Error()}
	var many profile.FieldErrors
	var one *profile.FieldError
	switch {
	case errors.As(err, &many):
	case errors.As(err, &one):
		many = profile.FieldErrors{one}
	default:
		p.Status = http.StatusBadRequest
		return p
	}
	for _, fe := range many {
		if fe.Malformed {
			p.Status, p.Title = http.StatusBadRequest, "Malformed JSON"
		}
		if fe.Field != "" {
			p.Errors = append(p.Errors, ProblemField{Field: fe.Field, Message: fe.Message})
		}
	}
	return p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
