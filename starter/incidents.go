package starter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/workflows"
)

// IncidentView is the API's view of one incident.
type IncidentView struct {
	WorkflowID  string `json:"workflowId"`
	Status      string `json:"status"`
	Step        string `json:"step,omitempty"`
	Rule        string `json:"rule,omitempty"`
	Application string `json:"application,omitempty"`
	// Service is the application the alert is about (the same value as application).
	Service   string          `json:"service,omitempty"`
	StartsAt  *time.Time      `json:"startsAt,omitempty"`
	Severity  string          `json:"severity,omitempty"`
	Language  string          `json:"language,omitempty"`
	Report    string          `json:"report"`
	Details   json.RawMessage `json:"details,omitempty"`
	CreatedAt *time.Time      `json:"createdAt,omitempty"`
	UpdatedAt *time.Time      `json:"updatedAt,omitempty"`
}

func viewOf(in store.Incident) IncidentView {
	v := IncidentView{
		WorkflowID: in.WorkflowID, Status: in.Status, Rule: in.AlertName, Application: in.Application,
		Service: in.Application, Severity: in.Severity, Language: in.Language, Report: in.Report, Details: in.Details,
	}
	var alert struct {
		StartsAt time.Time `json:"startsAt"`
	}
	if json.Unmarshal(in.Alert, &alert) == nil && !alert.StartsAt.IsZero() {
		v.StartsAt = &alert.StartsAt
	}
	if !in.CreatedAt.IsZero() {
		c, u := in.CreatedAt, in.UpdatedAt
		v.CreatedAt, v.UpdatedAt = &c, &u
	}
	return v
}

func (a *API) getIncident(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("workflowId")
	in, err := a.Store.GetIncident(r.Context(), id)
	if err == nil {
		v := viewOf(in)
		if in.Status == workflows.IncidentRunning {
			if st, err := a.queryIncident(r, id); err == nil {
				v.Step = st.Step
			}
		}
		writeJSON(w, http.StatusOK, v)
		return
	}
	if !errors.Is(err, store.ErrNotFound) {
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "store: " + err.Error()})
		return
	}
	// Not stored yet: the workflow may have started a moment ago.
	st, qerr := a.queryIncident(r, id)
	if qerr != nil {
		var nf *serviceerror.NotFound
		if errors.As(qerr, &nf) {
			writeProblem(w, Problem{Status: http.StatusNotFound, Detail: "no incident with workflowId " + strconv.Quote(id)})
			return
		}
		writeJSON(w, http.StatusOK, IncidentView{WorkflowID: id, Status: "pending"})
		return
	}
	writeJSON(w, http.StatusOK, IncidentView{WorkflowID: id, Status: st.Status, Step: st.Step, Report: st.Report, Language: st.Language})
}

func (a *API) queryIncident(r *http.Request, id string) (workflows.IncidentState, error) {
	var st workflows.IncidentState
	v, err := a.Temporal.QueryWorkflow(r.Context(), id, "", workflows.QueryIncidentState)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func (a *API) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.IncidentFilter{Status: q.Get("status"), Application: q.Get("application")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Invalid query",
				Errors: []ProblemField{{Field: "limit", Message: "must be an integer between 1 and 1000"}}})
			return
		}
		f.Limit = n
	}
	if o := q.Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Invalid query",
				Errors: []ProblemField{{Field: "offset", Message: "must be a non-negative integer"}}})
			return
		}
		f.Offset = n
	}
	list, err := a.Store.ListIncidents(r.Context(), f)
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "store: " + err.Error()})
		return
	}
	out := make([]IncidentView, 0, len(list))
	for _, in := range list {
		v := viewOf(in)
		v.Report, v.Details = "", nil // the list is an index; GET /v1/incidents/{id} has the report
		out = append(out, v)
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	page := map[string]any{"incidents": out, "offset": f.Offset, "limit": limit}
	if len(out) == limit {
		page["next"] = fmt.Sprintf("/v1/incidents?offset=%d&limit=%d", f.Offset+limit, limit)
	}
	writeJSON(w, http.StatusOK, page)
}
