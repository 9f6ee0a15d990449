package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/workflows"
)

// DeploymentAccepted is the 202 answer of POST /v1/deployments.
type DeploymentAccepted struct {
	WorkflowID string `json:"workflowId"`
	Status     string `json:"status"` // started | joined
	Deployment string `json:"deployment"`
	Gate       string `json:"gate"`
}

func (a *API) postDeployment(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var d change.Deployment
	if !decodeStrict(w, body, &d) {
		return
	}
	var probs []ProblemField
	if d.ID == "" {
		probs = append(probs, ProblemField{Field: "id", Message: "required"})
	}
	if d.PlannedAt.IsZero() {
		probs = append(probs, ProblemField{Field: "plannedAt", Message: "required (RFC 3339)"})
	}
	limitField(&probs, "id", d.ID)
	limitField(&probs, "version", d.Version)
	limitField(&probs, "author", d.Author)
	probs = append(probs, deploymentProblems(d, "")...)
	if len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid deployment", Errors: probs})
		return
	}
	res, err := a.startDeployment(r, d)
	if err != nil {
		a.startProblem(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// startProblem answers a failed start (problemOf): 409 for a conflicting announcement, whose
// message is the whole detail, 422 for a request Temporal refused, 503 otherwise.
func (a *API) startProblem(w http.ResponseWriter, err error) {
	var ce *conflictError
	if errors.As(err, &ce) {
		writeProblem(w, problemOf(err))
		return
	}
	writeProblem(w, temporalProblem(err, "could not start change tracking"))
}

// startDeployment starts (or joins) the change tracking of a deployment.
func (a *API) startDeployment(r *http.Request, d change.Deployment) (DeploymentAccepted, error) {
	id := workflows.DeploymentWorkflowID(d.ID)
	res := DeploymentAccepted{WorkflowID: id, Status: "started", Deployment: "/v1/deployments/" + d.ID, Gate: "/v1/deployments/" + d.ID + "/gate"}
	_, err := a.Temporal.ExecuteWorkflow(r.Context(), client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                a.TaskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.SearchAttrKind.ValueSet("deployment")),
	}, workflows.ChangeTrackingWorkflow, a.changeInput(d, clientName(r)))
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &already) {
			return DeploymentAccepted{}, err
		}
		res.Status = "joined"
		// The same deployment announced again joins; a different one under the same ID is a
		// conflict, not something to drop silently.
		if v, qerr := a.Temporal.QueryWorkflow(r.Context(), id, "", workflows.QueryDeployment); qerr == nil {
			var st workflows.DeploymentState
			if v.Get(&st) == nil {
				if diff := deploymentDiff(st.Deployment, d); diff != "" {
					return res, &conflictError{fmt.Sprintf("deployment %q is already tracked with a different %s; announce the change under a new ID (and cancel the old one)", d.ID, diff)}
				}
			}
		}
	}
	return res, nil
}

// conflictError is an announcement that contradicts the tracked deployment of the same ID.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// deploymentDiff names the first field in which b differs from the tracked a, or "".
func deploymentDiff(a, b change.Deployment) string {
	switch {
	case !a.PlannedAt.Equal(b.PlannedAt):
		return "plannedAt (" + a.PlannedAt.UTC().Format(time.RFC3339) + ")"
	case len(a.Applications) != len(b.Applications):
		return "applications"
	}
	for i := range a.Applications {
		if a.Applications[i] != b.Applications[i] {
			return "applications"
		}
	}
	return ""
}

// changeInput is the workflow input of a deployment: the configured schedules of its
// applications and the notification policy.
func (a *API) changeInput(d change.Deployment, clientName string) workflows.ChangeInput {
	in := workflows.ChangeInput{Deployment: d, Checkpoints: a.ChangeCheckpoints, Notify: a.ChangeNotify, Client: clientName}
	for _, app := range d.Applications {
		if cps, ok := a.AppCheckpoints[app.Name]; ok {
			if in.AppCheckpoints == nil {
				in.AppCheckpoints = map[string][]time.Duration{}
			}
			in.AppCheckpoints[app.Name] = cps
		}
	}
	return in
}

// deploymentState asks the running (or recently closed) workflow; when Temporal no longer has
// it, the stored record answers.
func (a *API) deploymentState(r *http.Request) (workflows.DeploymentState, error) {
	var st workflows.DeploymentState
	v, err := a.Temporal.QueryWorkflow(r.Context(), workflows.DeploymentWorkflowID(r.PathValue("id")), "", workflows.QueryDeployment)
	if err == nil {
		return st, v.Get(&st)
	}
	// A workflow Temporal no longer has, or one too busy to answer the query in time (its worker
	// is behind), is answered from the record the workflow saved last.
	var nf *serviceerror.NotFound
	var dl *serviceerror.DeadlineExceeded
	busy := (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &dl)) && r.Context().Err() == nil
	if !(errors.As(err, &nf) || busy) || a.Store == nil {
		return st, err
	}
	rec, serr := a.Store.GetDeployment(r.Context(), r.PathValue("id"))
	if serr != nil {
		if errors.Is(serr, store.ErrNotFound) {
			return st, err
		}
		return st, serr
	}
	return st, json.Unmarshal(rec.Body, &st)
}

// DeploymentSummary is one item of GET /v1/deployments.
type DeploymentSummary struct {
	ID           string    `json:"id"`
	WorkflowID   string    `json:"workflowId"`
	Version      string    `json:"version,omitempty"`
	PlannedAt    time.Time `json:"plannedAt"`
	Applications []string  `json:"applications"`
	Status       string    `json:"status"`
	Gate         string    `json:"gate"`
	State        string    `json:"state,omitempty"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Link         string    `json:"link"`
}

// listDeployments lists the stored deployments, newest planned first, filtered by application,
// state and status, paged like incidents.
func (a *API) listDeployments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.DeploymentFilter{Application: q.Get("application"), State: q.Get("state"), Status: q.Get("status")}
	var probs []ProblemField
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			probs = append(probs, ProblemField{Field: "limit", Message: "must be an integer between 1 and 500"})
		}
		f.Limit = n
	}
	if o := q.Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			probs = append(probs, ProblemField{Field: "offset", Message: "must be a non-negative integer"})
		}
		f.Offset = n
	}
	switch f.State {
	case "", "STABLE", "MOSTLY_STABLE", "UNSTABLE":
	default:
		probs = append(probs, ProblemField{Field: "state", Message: "must be STABLE, MOSTLY_STABLE or UNSTABLE"})
	}
	if len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Invalid query", Errors: probs})
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	list, err := a.Store.ListDeployments(r.Context(), f)
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "store: " + err.Error()})
		return
	}
	out := make([]DeploymentSummary, 0, len(list))
	for _, d := range list {
		out = append(out, DeploymentSummary{ID: d.ID, WorkflowID: d.WorkflowID, Version: d.Version, PlannedAt: d.PlannedAt,
			Applications: d.Applications, Status: d.Status, Gate: d.Gate, State: d.State, UpdatedAt: d.UpdatedAt,
			Link: "/v1/deployments/" + url.PathEscape(d.ID)})
	}
	page := map[string]any{"deployments": out, "offset": f.Offset, "limit": f.Limit}
	if len(out) == f.Limit {
		next := url.Values{"offset": {strconv.Itoa(f.Offset + f.Limit)}, "limit": {strconv.Itoa(f.Limit)}}
		for _, k := range []string{"application", "state", "status"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		page["next"] = "/v1/deployments?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, page)
}

// deploymentProblem answers a failed query or signal of a deployment (problemOf): 404 for an
// unknown one.
func (a *API) deploymentProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	if p.Status == http.StatusNotFound {
		p.Detail = fmt.Sprintf("no deployment %q", r.PathValue("id"))
	}
	writeProblem(w, p)
}

func (a *API) getDeployment(w http.ResponseWriter, r *http.Request) {
	st, err := a.deploymentState(r)
	if err != nil {
		a.deploymentProblem(w, r, err)
		return
	}
	v := DeploymentView{DeploymentState: st, Incidents: []DeploymentIncident{}}
	if a.Store != nil {
		if v.Incidents, err = a.deploymentIncidents(r, st); err != nil {
			v.Incidents, v.IncidentsError = []DeploymentIncident{}, err.Error()
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// DeploymentView is GET /v1/deployments/{id}: the deployment's state and the incidents of its
// applications that started within its tracking window.
type DeploymentView struct {
	workflows.DeploymentState
	Incidents []DeploymentIncident `json:"incidents"`
	// IncidentsError says why the incidents could not be listed.
	IncidentsError string `json:"incidentsError,omitempty"`
}

// DeploymentIncident is an incident of a deployment's application that started within the
// deployment's tracking window.
type DeploymentIncident struct {
	WorkflowID  string    `json:"workflowId"`
	Application string    `json:"application"`
	Rule        string    `json:"rule"`
	Severity    string    `json:"severity,omitempty"`
	Status      string    `json:"status"`
	StartsAt    time.Time `json:"startsAt"`
	Link        string    `json:"link"`
}

// maxDeploymentIncidents is how many of each application's newest incidents are looked at.
const maxDeploymentIncidents = 200

// deploymentIncidents lists the incidents of the deployment's applications whose alert started
// within its tracking window: from the change's start (its "started" event, else the planned
// time) to the end of its last checkpoint once tracking is over, else to now. Oldest first.
func (a *API) deploymentIncidents(r *http.Request, st workflows.DeploymentState) ([]DeploymentIncident, error) {
	from := st.Deployment.PlannedAt
	if st.StartedAt != nil && st.StartedAt.Before(from) {
		from = *st.StartedAt
	}
	to := time.Now()
	switch st.Status {
	case "done", "rolled-back", "cancelled":
		to = from
		for _, cp := range st.Checkpoints {
			if cp.To.After(to) {
				to = cp.To
			}
		}
	}
	out := []DeploymentIncident{}
	seen := map[string]bool{}
	for _, app := range st.Deployment.Applications {
		incs, err := a.Store.ListIncidents(r.Context(), store.IncidentFilter{Application: app.Name, Limit: maxDeploymentIncidents})
		if err != nil {
			return nil, fmt.Errorf("incidents of %s: %w", app.Name, err)
		}
		for _, inc := range incs {
			var al struct {
				StartsAt time.Time `json:"startsAt"`
			}
			_ = json.Unmarshal(inc.Alert, &al)
			at := al.StartsAt
			if at.IsZero() {
				at = inc.CreatedAt
			}
			if seen[inc.WorkflowID] || at.Before(from) || at.After(to) {
				continue
			}
			seen[inc.WorkflowID] = true
			out = append(out, DeploymentIncident{WorkflowID: inc.WorkflowID, Application: inc.Application, Rule: inc.AlertName,
				Severity: inc.Severity, Status: inc.Status, StartsAt: at, Link: "/v1/incidents/" + inc.WorkflowID})
		}
	}
	slices.SortStableFunc(out, func(x, y DeploymentIncident) int { return x.StartsAt.Compare(y.StartsAt) })
	return out, nil
}

// getGate answers the release system: proceed, hold (with reasons) or pending. It reads the
// workflow's query — a poll writes nothing to the workflow's history (callers on Temporal can
// use the gate Update instead) — and the stored record once Temporal no longer has it.
func (a *API) getGate(w http.ResponseWriter, r *http.Request) {
	st, err := a.deploymentState(r)
	if err != nil {
		a.deploymentProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st.Gate)
}

func (a *API) postDeploymentEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var e workflows.DeploymentEvent
	if !decodeStrict(w, body, &e) {
		return
	}
	switch e.Type {
	case workflows.EventStarted, workflows.EventFinished, workflows.EventRolledBack, workflows.EventCancelled:
	default:
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid event",
			Errors: []ProblemField{{Field: "type", Message: "must be started, finished, rolled-back or cancelled"}}})
		return
	}
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	if err := a.Temporal.SignalWorkflow(r.Context(), workflows.DeploymentWorkflowID(r.PathValue("id")), "", workflows.SignalDeploymentEvent, e); err != nil {
		a.deploymentProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": e})
}
