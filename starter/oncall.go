package starter

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/phone"
	"github.com/vigil-ops/vigil/workflows"
)

// getOnCall shows an on-call page: the decision, every call and the acknowledgement.
func (a *API) getOnCall(w http.ResponseWriter, r *http.Request) {
	v, err := a.Temporal.QueryWorkflow(r.Context(), r.PathValue("id"), "", workflows.QueryOnCall)
	if err != nil {
		a.onCallProblem(w, r, err)
		return
	}
	var st workflows.OnCallState
	if err := v.Get(&st); err != nil {
		writeProblem(w, Problem{Status: http.StatusInternalServerError, Detail: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// postOnCallAck acknowledges a page through the API: {"by": "name"}.
func (a *API) postOnCallAck(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var in struct {
		By string `json:"by"`
	}
	if !decodeStrict(w, body, &in) {
		return
	}
	if strings.TrimSpace(in.By) == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid acknowledgement",
			Errors: []ProblemField{{Field: "by", Message: "required: who acknowledges"}}})
		return
	}
	st, err := a.ack(r, r.PathValue("id"), workflows.Ack{By: in.By, Via: "api"})
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) { // no running page: is it over, or unknown?
			if v, qerr := a.Temporal.QueryWorkflow(r.Context(), r.PathValue("id"), "", workflows.QueryOnCall); qerr == nil {
				var done workflows.OnCallState
				if v.Get(&done) == nil {
					writeProblem(w, Problem{Status: http.StatusConflict, Title: "Not acknowledged",
						Detail: fmt.Sprintf("the page is over (status %s%s)", done.Status, ackedBy(done))})
					return
				}
			}
		}
		a.onCallProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func ackedBy(st workflows.OnCallState) string {
	if st.AckedBy == "" {
		return ""
	}
	return ", acknowledged by " + st.AckedBy
}

func (a *API) ack(r *http.Request, id string, ack workflows.Ack) (workflows.OnCallState, error) {
	var st workflows.OnCallState
	h, err := a.Temporal.UpdateWorkflow(r.Context(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateAck, Args: []any{ack}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return st, err
	}
	return st, h.Get(r.Context(), &st)
}

// onCallProblem answers a failed query or update of a page by the error's type (problemOf):
// 409 for an acknowledgement the workflow refused, 404 for an unknown page — no workflow of
// that ID, or one of another kind (an incident's), whose refusal of the page's query or update
// has no type of ours.
func (a *API) onCallProblem(w http.ResponseWriter, r *http.Request, err error) {
	id := r.PathValue("id")
	p := problemOf(err)
	if p.Status == http.StatusServiceUnavailable && !a.isOnCallPage(r.Context(), id) {
		p.Status = http.StatusNotFound
	}
	if p.Status == http.StatusNotFound {
		p.Detail = fmt.Sprintf("no on-call page %q", id)
	}
	writeProblem(w, p)
}

// isOnCallPage says whether the workflow id is an on-call page; asked only once a query or
// update of it failed. When Temporal cannot tell, it is taken for one (the failure stands).
func (a *API) isOnCallPage(ctx context.Context, id string) bool {
	d, err := a.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		return !errors.As(err, &nf)
	}
	return d.GetWorkflowExecutionInfo().GetType().GetName() == workflows.OnCallWorkflowType
}

// twilioForm reads a Twilio webhook and checks its X-Twilio-Signature against the URL Twilio
// called (the public URL plus the request's path and query).
func (a *API) twilioForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if a.TwilioAuthToken == "" {
		writeProblem(w, Problem{Status: http.StatusNotFound, Detail: "phone calls are not configured (twilio)"})
		return nil, false
	}
	body, ok := a.readBody(w, r)
	if !ok {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Detail: "malformed form: " + err.Error()})
		return nil, false
	}
	full := strings.TrimRight(a.PublicURL, "/") + r.URL.RequestURI()
	if !phone.ValidateSignature(a.TwilioAuthToken, full, form, r.Header.Get("X-Twilio-Signature")) {
		writeProblem(w, Problem{Status: http.StatusForbidden, Detail: "X-Twilio-Signature does not match (is http.public_url the address Twilio calls?)"})
		return nil, false
	}
	return form, true
}

// twiml answers Twilio with something to say.
func twiml(w http.ResponseWriter, say string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Say>%s</Say></Response>`, html.EscapeString(say))
}

// postTwilioGather receives what the callee pressed: 1 acknowledges the page.
func (a *API) postTwilioGather(w http.ResponseWriter, r *http.Request) {
	form, ok := a.twilioForm(w, r)
	if !ok {
		return
	}
	step, _ := strconv.Atoi(r.URL.Query().Get("step"))
	if !phone.Acknowledged(form) {
		// Declined: the next person is called at once, not after the timeout.
		err := a.Temporal.SignalWorkflow(r.Context(), r.PathValue("id"), "", workflows.SignalCallStatus,
			workflows.CallStatus{Step: step, CallSID: form.Get("CallSid"), Status: "declined"})
		if err != nil {
			a.Logger.Warn("phone decline not delivered", "oncall", r.PathValue("id"), "error", err)
		}
		twiml(w, "Not acknowledged. Vigil will call the next person.")
		return
	}
	if _, err := a.ack(r, r.PathValue("id"), workflows.Ack{Step: step, Via: "phone"}); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeAlreadyAcknowledged {
			twiml(w, "This incident was already acknowledged. Thank you.")
			return
		}
		a.Logger.Warn("phone acknowledgement refused", "oncall", r.PathValue("id"), "error", err)
		twiml(w, "Sorry, the acknowledgement could not be recorded.")
		return
	}
	twiml(w, "Acknowledged. Thank you.")
}

// postTwilioStatus receives a call's progress (busy, no-answer, completed, ...).
func (a *API) postTwilioStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := a.twilioForm(w, r)
	if !ok {
		return
	}
	step, _ := strconv.Atoi(r.URL.Query().Get("step"))
	err := a.Temporal.SignalWorkflow(r.Context(), r.PathValue("id"), "", workflows.SignalCallStatus,
		workflows.CallStatus{Step: step, CallSID: form.Get("CallSid"), Status: form.Get("CallStatus")})
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) { // the page is over; Twilio need not retry
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
