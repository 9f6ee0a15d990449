package starter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
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
