package starter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/workflows"
)

// InvokeRequest is the body of POST /v1/roles/{code}/invoke and POST /v1/roles/{code}/runs.
type InvokeRequest struct {
	// Client names the caller when the request is not authenticated by an API key (vigil dev).
	Client     string            `json:"client,omitempty"`
	Messages   []llm.Message     `json:"messages"`
	Subject    string            `json:"subject,omitempty"`
	Parameters *roles.Parameters `json:"parameters,omitempty"`
}

// InvokeResponse is the answer of POST /v1/roles/{code}/invoke (and the result of a run).
type InvokeResponse struct {
	Role              string                `json:"role"`
	RoleVersion       int                   `json:"roleVersion"`
	Answer            string                `json:"answer"`
	JSON              json.RawMessage       `json:"json,omitempty"`
	Provider          string                `json:"provider"`
	Model             string                `json:"model"`
	LinkIndex         int                   `json:"linkIndex"`
	Attempts          int                   `json:"attempts"`
	InputTokens       int64                 `json:"inputTokens"`
	OutputTokens      int64                 `json:"outputTokens"`
	CostUSD           float64               `json:"costUsd"`
	ProviderLatencyMS int64                 `json:"providerLatencyMs"`
	LatencyMS         int64                 `json:"latencyMs"`
	Reused            bool                  `json:"reused"`
	Failures          []gateway.LinkFailure `json:"failures,omitempty"`
	// CallID names the call in the usage log (GET /v1/usage's records carry it as their
	// workflow ID); for a run it is the run's ID.
	CallID string `json:"callId"`
	// WorkflowID is the run's workflow (durable runs only).
	WorkflowID string `json:"workflowId,omitempty"`
}

// invokeCall is a validated invoke request with its role.
type invokeCall struct {
	role   roles.Role
	in     InvokeRequest
	client string
}

// currentRole returns the latest version of a role, prepared for calls.
func (a *API) currentRole(ctx context.Context, code string) (roles.Role, error) {
	if a.RoleCache != nil {
		v, err := a.RoleCache.Get(ctx, code)
		return v.Role, err
	}
	v, err := a.Roles.Get(ctx, code, 0)
	if err != nil {
		return roles.Role{}, err
	}
	return roles.ForCall(v.Role, a.Roles.Catalog), nil
}

// readInvoke reads and checks an invoke request; it answers the problem itself when it cannot.
func (a *API) readInvoke(w http.ResponseWriter, r *http.Request) (invokeCall, bool) {
	body, ok := a.readBody(w, r)
	if !ok {
		return invokeCall{}, false
	}
	var in InvokeRequest
	if !decodeStrict(w, body, &in) {
		return invokeCall{}, false
	}
	probs := checkMessages(in.Messages, "messages")
	role, err := a.currentRole(r.Context(), r.PathValue("code"))
	if err != nil {
		writeProblem(w, roleProblem(err))
		return invokeCall{}, false
	}
	if !role.IsEnabled() {
		writeProblem(w, Problem{Status: http.StatusConflict, Detail: fmt.Sprintf("role %q is disabled", role.Code)})
		return invokeCall{}, false
	}
	if in.Parameters != nil {
		role.Parameters = gateway.MergeParameters(role.Parameters, *in.Parameters)
		if err := role.Validate(); err != nil {
			probs = append(probs, ProblemField{Field: "parameters", Message: err.Error()})
		}
	}
	if len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid invoke request", Errors: probs})
		return invokeCall{}, false
	}
	p := PrincipalFrom(r.Context())
	clientName := p.Client
	if p.Anonymous && in.Client != "" {
		clientName = in.Client
	}
	return invokeCall{role: role, in: in, client: clientName}, true
}

func checkMessages(ms []llm.Message, field string) []ProblemField {
	var probs []ProblemField
	if len(ms) == 0 {
		probs = append(probs, ProblemField{Field: field, Message: "at least one message is required"})
	}
	for i, m := range ms {
		switch m.Role {
		case "user", "assistant", "system":
		default:
			probs = append(probs, ProblemField{Field: fmt.Sprintf("%s[%d].role", field, i), Message: "must be user, assistant or system"})
		}
		if m.Content == "" {
			probs = append(probs, ProblemField{Field: fmt.Sprintf("%s[%d].content", field, i), Message: "required"})
		}
	}
	return probs
}

// invokeRole answers POST /v1/roles/{code}/invoke synchronously, in this process (gateway).
func (a *API) invokeRole(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c, ok := a.readInvoke(w, r)
	if !ok {
		return
	}
	res, err := a.Gateway.Invoke(r.Context(), gateway.Request{Role: c.role, Client: c.client, Subject: c.in.Subject, Messages: c.in.Messages})
	if err != nil {
		writeProblem(w, gatewayProblem(w, err))
		return
	}
	out := InvokeResponse{
		Role: c.role.Code, RoleVersion: res.RoleVersion, Answer: res.Text, Provider: res.Provider, Model: res.Model,
		LinkIndex: res.LinkIndex, Attempts: res.Attempts, InputTokens: res.InputTokens, OutputTokens: res.OutputTokens,
		CostUSD: res.CostUSD, ProviderLatencyMS: res.LatencyMS, Reused: res.Reused, Failures: res.Failures, CallID: res.CallID,
	}
	if j, ok := roles.ParseAnswer(c.role.ResponseFormat, res.Text); ok {
		out.JSON = j
	}
	out.LatencyMS = time.Since(start).Milliseconds()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

// gatewayProblem maps a failed synchronous call to its problem (setting Retry-After on w when
// the model's budget is what failed).
func gatewayProblem(w http.ResponseWriter, err error) Problem {
	var ce *gateway.ChainError
	switch {
	case errors.As(err, &ce):
		p := Problem{Status: http.StatusBadGateway, Title: "No link of the role answered", Detail: err.Error()}
		for _, f := range ce.Failures {
			p.Errors = append(p.Errors, ProblemField{Field: fmt.Sprintf("chain[%d]", f.LinkIndex), Message: f.Provider + "/" + f.Model + ": " + f.Error})
		}
		if ce.RetryAfter > 0 {
			p.Status, p.Title = http.StatusTooManyRequests, "Rate budget exhausted"
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ce.RetryAfter.Seconds()))))
		}
		return p
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Problem{Status: http.StatusServiceUnavailable, Detail: "the call was cancelled: " + err.Error()}
	default:
		return Problem{Status: http.StatusInternalServerError, Detail: err.Error()}
	}
}

// RunAccepted is the answer of POST /v1/roles/{code}/runs.
type RunAccepted struct {
	RunID string `json:"runId"`
	Role  string `json:"role"`
	// Status is started, or joined when a run of the same role, subject, client, messages and
	// parameters inside the role's rate-limit interval answers this request too.
	Status string `json:"status"`
}

// postRoleRun starts a durable role call (a RoleInvokeWorkflow) and answers 202 at once: the
// answer outlives the caller and is read with GET /v1/roles/{code}/runs/{id}.
func (a *API) postRoleRun(w http.ResponseWriter, r *http.Request) {
	c, ok := a.readInvoke(w, r)
	if !ok {
		return
	}
	var unique [8]byte
	_, _ = rand.Read(unique[:])
	scope, _ := json.Marshal(struct {
		Messages   []llm.Message    `json:"m"`
		Parameters roles.Parameters `json:"p"`
	}{c.in.Messages, c.role.Parameters})
	id := workflows.RoleInvokeWorkflowID(c.role.Code, c.in.Subject, hex.EncodeToString(unique[:]), c.client, string(scope))
	reuse := time.Duration(0)
	if c.in.Subject != "" {
		reuse = c.role.RateLimitInterval.D()
	}
	input := workflows.InvokeInput{
		Call:     workflows.RoleCallInput{Role: c.role, Client: c.client, Subject: c.in.Subject, Messages: c.in.Messages},
		ReuseFor: reuse,
	}
	status := "started"
	_, err := a.Temporal.ExecuteWorkflow(r.Context(), client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                a.TaskQueue,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.SearchAttrKind.ValueSet("invoke")),
	}, workflows.RoleInvokeWorkflow, input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		status = "joined"
	case err != nil:
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "start the role run: " + err.Error()})
		return
	}
	w.Header().Set("Location", "/v1/roles/"+c.role.Code+"/runs/"+id)
	writeJSON(w, http.StatusAccepted, RunAccepted{RunID: id, Role: c.role.Code, Status: status})
}

// RunView is the answer of GET /v1/roles/{code}/runs/{id}.
type RunView struct {
	RunID     string          `json:"runId"`
	Role      string          `json:"role"`
	Status    string          `json:"status"` // running, completed, failed
	StartedAt time.Time       `json:"startedAt"`
	Result    *InvokeResponse `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
}

func (a *API) getRoleRun(w http.ResponseWriter, r *http.Request) {
	code, id := r.PathValue("code"), r.PathValue("id")
	notFound := Problem{Status: http.StatusNotFound, Detail: fmt.Sprintf("role %q has no run %q", code, id)}
	if !strings.HasPrefix(id, "invoke-"+code+"-") {
		writeProblem(w, notFound)
		return
	}
	v, err := a.Temporal.QueryWorkflow(r.Context(), id, "", workflows.QueryRun)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			writeProblem(w, notFound)
			return
		}
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()})
		return
	}
	var st workflows.RunState
	if err := v.Get(&st); err != nil {
		writeProblem(w, Problem{Status: http.StatusInternalServerError, Detail: err.Error()})
		return
	}
	out := RunView{RunID: id, Role: code, Status: st.Status, StartedAt: st.StartedAt, Error: st.Error}
	if res := st.Result; res != nil {
		ir := InvokeResponse{
			Role: code, RoleVersion: res.RoleVersion, Answer: res.Text, Provider: res.Provider, Model: res.Model,
			LinkIndex: res.LinkIndex, Attempts: res.Attempts, InputTokens: res.InputTokens, OutputTokens: res.OutputTokens,
			CostUSD: res.CostUSD, ProviderLatencyMS: res.LatencyMS, Failures: res.Failures, CallID: id, WorkflowID: id,
		}
		if st.Status == "completed" {
			if rv, err := a.currentRole(r.Context(), code); err == nil {
				if j, ok := roles.ParseAnswer(rv.ResponseFormat, res.Text); ok {
					ir.JSON = j
				}
			}
		}
		out.Result = &ir
	}
	writeJSON(w, http.StatusOK, out)
}
