package starter

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/workflows"
)

// decodeStrict decodes a JSON body, refusing unknown fields and data after the JSON value, and
// answers a problem naming the field at fault when it cannot.
func decodeStrict(w http.ResponseWriter, body []byte, v any) bool {
	if err := decodeJSON(body, v, true); err != nil {
		if errors.Is(err, errTrailingData) {
			writeProblem(w, trailingProblem(err))
			return false
		}
		p := Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()}
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		var uf *unknownFieldError
		switch {
		case errors.As(err, &te):
			p.Errors = []ProblemField{{Field: te.Field, Message: fmt.Sprintf("must be %s, got %s", te.Type, te.Value)}}
		case errors.As(err, &se):
			p.Detail = fmt.Sprintf("invalid JSON at byte offset %d: %v", se.Offset, err)
		case errors.As(err, &uf):
			p.Errors = []ProblemField{{Field: uf.Field, Message: "unknown field"}}
		}
		writeProblem(w, p)
		return false
	}
	return true
}

// roleProblem answers a failed call of the role service: 422 naming each field of a role that
// does not validate, 404 for an unknown role or version, 503 otherwise (problemOf).
func roleProblem(err error) Problem { return problemOf(err) }

func (a *API) listRoles(w http.ResponseWriter, r *http.Request) {
	list, err := a.Roles.List(r.Context())
	if err != nil {
		writeProblem(w, roleProblem(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"roles": list})
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request) {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Invalid query",
				Errors: []ProblemField{{Field: "version", Message: "must be a positive integer"}}})
			return
		}
		version = n
	}
	v, err := a.Roles.Get(r.Context(), r.PathValue("code"), version)
	if err != nil {
		writeProblem(w, roleProblem(err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// putRole creates or updates a role (PUT /v1/roles/{code}, POST /v1/roles). A body equal to the
// latest version changes nothing (200 with "changed": false).
func (a *API) putRole(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var in struct {
		roles.Role
		Comment string `json:"comment,omitempty"`
	}
	if !decodeStrict(w, body, &in) {
		return
	}
	role := in.Role
	if code := r.PathValue("code"); code != "" {
		if role.Code == "" {
			role.Code = code
		} else if role.Code != code {
			writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid role",
				Errors: []ProblemField{{Field: "code", Message: fmt.Sprintf("%q does not match the path's %q", role.Code, code)}}})
			return
		}
	}
	author := PrincipalFrom(r.Context()).Client
	v, changed, err := a.Roles.Put(r.Context(), role, author, in.Comment)
	if err != nil {
		writeProblem(w, roleProblem(err))
		return
	}
	status := http.StatusOK
	if changed && v.Meta.Version == 1 {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"role": v, "changed": changed})
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) {
	if err := a.Roles.Delete(r.Context(), r.PathValue("code"), PrincipalFrom(r.Context()).Client); err != nil {
		writeProblem(w, roleProblem(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) roleVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := a.Roles.Versions(r.Context(), r.PathValue("code"))
	if err != nil {
		writeProblem(w, roleProblem(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"code": r.PathValue("code"), "versions": vs})
}

func (a *API) restoreRole(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var in struct {
		Version int `json:"version"`
	}
	if !decodeStrict(w, body, &in) {
		return
	}
	if in.Version < 1 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Errors: []ProblemField{{Field: "version", Message: "must be a positive integer"}}})
		return
	}
	v, err := a.Roles.Restore(r.Context(), r.PathValue("code"), in.Version, PrincipalFrom(r.Context()).Client)
	if err != nil {
		writeProblem(w, roleProblem(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"role": v, "changed": true})
}

// InvokeRequest is the body of POST /v1/roles/{code}/invoke.
type InvokeRequest struct {
	// Client names the caller when the request is not authenticated by an API key (vigil dev).
	Client     string            `json:"client,omitempty"`
	Messages   []llm.Message     `json:"messages"`
	Subject    string            `json:"subject,omitempty"`
	Parameters *roles.Parameters `json:"parameters,omitempty"`
}

// InvokeResponse is the answer of POST /v1/roles/{code}/invoke.
type InvokeResponse struct {
	Role              string                   `json:"role"`
	RoleVersion       int                      `json:"roleVersion"`
	Answer            string                   `json:"answer"`
	JSON              json.RawMessage          `json:"json,omitempty"`
	Provider          string                   `json:"provider"`
	Model             string                   `json:"model"`
	LinkIndex         int                      `json:"linkIndex"`
	Attempts          int                      `json:"attempts"`
	InputTokens       int64                    `json:"inputTokens"`
	OutputTokens      int64                    `json:"outputTokens"`
	CostUSD           float64                  `json:"costUsd"`
	ProviderLatencyMS int64                    `json:"providerLatencyMs"`
	LatencyMS         int64                    `json:"latencyMs"`
	Reused            bool                     `json:"reused"`
	Failures          []activities.LinkFailure `json:"failures,omitempty"`
	WorkflowID        string                   `json:"workflowId"`
}

func (a *API) invokeRole(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var in InvokeRequest
	if !decodeStrict(w, body, &in) {
		return
	}
	var probs []ProblemField
	if len(in.Messages) == 0 {
		probs = append(probs, ProblemField{Field: "messages", Message: "at least one message is required"})
	}
	for i, m := range in.Messages {
		switch m.Role {
		case "user", "assistant", "system":
		default:
			probs = append(probs, ProblemField{Field: fmt.Sprintf("messages[%d].role", i), Message: "must be user, assistant or system"})
		}
		if m.Content == "" {
			probs = append(probs, ProblemField{Field: fmt.Sprintf("messages[%d].content", i), Message: "required"})
		}
	}
	v, err := a.Roles.Get(r.Context(), r.PathValue("code"), 0)
	if err != nil {
		writeProblem(w, roleProblem(err))
		return
	}
	role := roles.ForCall(v.Role, a.Roles.Catalog)
	if !role.IsEnabled() {
		writeProblem(w, Problem{Status: http.StatusConflict, Detail: fmt.Sprintf("role %q is disabled", role.Code)})
		return
	}
	if in.Parameters != nil {
		role.Parameters = workflows.MergeParameters(role.Parameters, *in.Parameters)
		if err := role.Validate(); err != nil {
			for _, e := range []error{err} {
				probs = append(probs, ProblemField{Field: "parameters", Message: e.Error()})
			}
		}
	}
	if len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid invoke request", Errors: probs})
		return
	}
	p := PrincipalFrom(r.Context())
	clientName := p.Client
	if p.Anonymous && in.Client != "" {
		clientName = in.Client
	}
	var unique [8]byte
	_, _ = rand.Read(unique[:])
	scope, _ := json.Marshal(struct {
		Messages   []llm.Message    `json:"m"`
		Parameters roles.Parameters `json:"p"`
	}{in.Messages, role.Parameters})
	id := workflows.RoleInvokeWorkflowID(role.Code, in.Subject, hex.EncodeToString(unique[:]), clientName, string(scope))
	reuse := time.Duration(0)
	if in.Subject != "" {
		reuse = role.RateLimitInterval.D()
	}
	input := workflows.InvokeInput{
		Call:     workflows.RoleCallInput{Role: role, Client: clientName, Subject: in.Subject, Messages: in.Messages},
		ReuseFor: reuse,
	}
	op := a.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                a.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SearchAttrKind.ValueSet("invoke")),
	}, workflows.RoleInvokeWorkflow, input)
	h, err := a.Temporal.UpdateWithStartWorkflow(r.Context(), client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.UpdateAnswer,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "start the role call: " + err.Error()})
		return
	}
	var ans workflows.InvokeAnswer
	if err := h.Get(r.Context(), &ans); err != nil {
		p := Problem{Status: http.StatusBadGateway, Title: "No link of the role answered", Detail: err.Error()}
		var appErr *temporal.ApplicationError
		var failures []activities.LinkFailure
		if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&failures) == nil {
			for _, f := range failures {
				p.Errors = append(p.Errors, ProblemField{Field: fmt.Sprintf("chain[%d]", f.LinkIndex), Message: f.Provider + "/" + f.Model + ": " + f.Error})
			}
		}
		writeProblem(w, p)
		return
	}
	res := ans.Result
	out := InvokeResponse{
		Role: role.Code, RoleVersion: res.RoleVersion, Answer: res.Text, Provider: res.Provider, Model: res.Model,
		LinkIndex: res.LinkIndex, Attempts: res.Attempts, InputTokens: res.InputTokens, OutputTokens: res.OutputTokens,
		CostUSD: res.CostUSD, ProviderLatencyMS: res.LatencyMS, Reused: ans.Reused, Failures: res.Failures, WorkflowID: id,
	}
	if j, ok := roles.ParseAnswer(role.ResponseFormat, res.Text); ok {
		out.JSON = j
	}
	if ans.Reused {
		// A reused answer cost nothing, but the usage log still says who asked.
		out.Attempts, out.CostUSD, out.InputTokens, out.OutputTokens = 0, 0, 0, 0
		a.logReuse(r, id, clientName, role, in, res)
	}
	out.LatencyMS = time.Since(start).Milliseconds()
	writeJSON(w, http.StatusOK, out)
}

func (a *API) logReuse(r *http.Request, id, clientName string, role roles.Role, in InvokeRequest, res workflows.RoleCallResult) {
	var unique [6]byte
	_, _ = rand.Read(unique[:])
	err := a.Store.RecordLLMCall(r.Context(), store.LLMCall{
		ID: id + "/reuse/" + hex.EncodeToString(unique[:]), Time: time.Now().UTC(), Client: clientName,
		Role: role.Code, RoleVersion: res.RoleVersion, Provider: res.Provider, Model: res.Model, Subject: in.Subject,
		Response: res.Text, Status: "ok", WorkflowID: id, Reused: true,
	})
	if err != nil {
		a.Logger.Error("record reused LLM answer", "workflow_id", id, "error", err)
	}
}

func (a *API) usage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.LLMCallFilter{Client: q.Get("client"), Role: q.Get("role"), Provider: q.Get("provider"), Model: q.Get("model")}
	for _, k := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(k.name); v != "" {
			t, err := parseSince(v)
			if err != nil {
				writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Invalid query",
					Errors: []ProblemField{{Field: k.name, Message: "must be RFC 3339 (2026-11-26T00:00:00Z) or a duration ago (24h)"}}})
				return
			}
			*k.dst = t
		}
	}
	groupBy := q.Get("group_by")
	switch groupBy {
	case "", "client", "role", "model", "provider":
	default:
		writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Invalid query",
			Errors: []ProblemField{{Field: "group_by", Message: "must be client, role, model or provider"}}})
		return
	}
	rows, err := a.Store.UsageSummary(r.Context(), f)
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "store: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"group_by": groupBy, "rows": groupUsage(rows, groupBy)})
}

// UsageGroup is one row of GET /v1/usage.
type UsageGroup struct {
	Key          string  `json:"key"`
	Calls        int64   `json:"calls"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	CostUSD      float64 `json:"costUsd"`
	AvgLatencyMS float64 `json:"avgLatencyMs"`
}

func groupUsage(rows []store.UsageRow, by string) []UsageGroup {
	idx := map[string]int{}
	var out []UsageGroup
	for _, r := range rows {
		key := r.Client + "/" + r.Role + "/" + r.Provider + "/" + r.Model
		switch by {
		case "client":
			key = r.Client
		case "role":
			key = r.Role
		case "model":
			key = r.Provider + "/" + r.Model
		case "provider":
			key = r.Provider
		}
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, UsageGroup{Key: key})
		}
		g := &out[i]
		// The average latency is weighted by calls.
		g.AvgLatencyMS = (g.AvgLatencyMS*float64(g.Calls) + r.AvgLatencyMS*float64(r.Calls)) / float64(max(g.Calls+r.Calls, 1))
		g.Calls += r.Calls
		g.Errors += r.Errors
		g.InputTokens += r.InputTokens
		g.OutputTokens += r.OutputTokens
		g.CostUSD += r.CostUSD
	}
	if out == nil {
		out = []UsageGroup{}
	}
	return out
}

func parseSince(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, v)
}
