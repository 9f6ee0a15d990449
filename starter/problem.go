package starter

import (
	"encoding/json"
	"errors"
	"net/http"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/workflows"
)

// Problem is an RFC 9457 problem detail, Vigil's only error body.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Errors []ProblemField `json:"errors,omitempty"`
}

// ProblemField names one field at fault.
type ProblemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Errors become statuses here and nowhere else. Every error the API answers with a status of
// its own carries a type — a Go error type (errors.As, errors.Is) for what ran in this process,
// a Temporal ApplicationError type for what a workflow refused — and no status is chosen by an
// error's text.

// refusals are the ApplicationError types a workflow refuses a request with, by status.
var refusals = map[string]Problem{
	workflows.ErrTypeAlreadyAcknowledged: {Status: http.StatusConflict, Title: "Not acknowledged"},
	workflows.ErrTypeNotPaging:           {Status: http.StatusConflict, Title: "Not acknowledged"},
	workflows.ErrTypeNoCallStep:          {Status: http.StatusConflict, Title: "Not acknowledged"},
	workflows.ErrTypeInvalidAck:          {Status: http.StatusUnprocessableEntity, Title: "Invalid acknowledgement"},
}

// problemOf answers err by its type, with err's text as the detail:
//   - a workflow's refusal (an ApplicationError of a type in refusals): its status and title;
//   - nothing by that name (Temporal's NotFound, roles.ErrNotFound): 404;
//   - Temporal's InvalidArgument, a limit the request broke: 422, not retried by the sender;
//   - a deployment announced again with other facts (*conflictError): 409;
//   - a role that does not validate (*roles.ValidationError): 422 naming each field;
//   - anything else may pass on a retry: 503.
func problemOf(err error) Problem {
	var (
		appErr *temporal.ApplicationError
		nf     *serviceerror.NotFound
		ia     *serviceerror.InvalidArgument
		ce     *conflictError
		ve     *roles.ValidationError
	)
	switch {
	case errors.As(err, &appErr) && refusals[appErr.Type()].Status != 0:
		p := refusals[appErr.Type()]
		p.Detail = appErr.Message()
		return p
	case errors.As(err, &nf), errors.Is(err, roles.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Detail: err.Error()}
	case errors.As(err, &ia):
		return Problem{Status: http.StatusUnprocessableEntity, Title: "Refused by Temporal", Detail: ia.Error()}
	case errors.As(err, &ce):
		return Problem{Status: http.StatusConflict, Title: "Deployment already announced", Detail: ce.msg}
	case errors.As(err, &ve):
		p := Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid role", Detail: err.Error()}
		for _, fp := range ve.Problems {
			p.Errors = append(p.Errors, ProblemField{Field: fp.Field, Message: fp.Message})
		}
		return p
	}
	return Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()}
}
