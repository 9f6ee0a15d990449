package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// script answers each model's requests from its own queue of replies, then with ok.
type script struct {
	mu     sync.Mutex
	queues map[string][]llmtest.Reply
	def    map[string]llmtest.Reply
}

func newScript(srv *llmtest.Server) *script {
	s := &script{queues: map[string][]llmtest.Reply{}, def: map[string]llmtest.Reply{}}
	srv.SetHandler(func(r llmtest.Received) llmtest.Reply {
		s.mu.Lock()
		defer s.mu.Unlock()
		if q := s.queues[r.Model]; len(q) > 0 {
			s.queues[r.Model] = q[1:]
			return q[0]
		}
		if d, ok := s.def[r.Model]; ok {
			return d
		}
		return llmtest.Text("ok from " + r.Model)
	})
	return s
}

func (s *script) set(model string, def *llmtest.Reply, replies ...llmtest.Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues[model] = replies
	if def != nil {
		s.def[model] = *def
	} else {
		delete(s.def, model)
	}
}

func gatewayConfig(srvURL string) func(*config.Config) { return gatewayConfigRPM(srvURL, 6000) }

// gatewayConfigRPM declares model-a and model-b with the given budget (0 = none: their links run
// as local activities instead of on a rate-limited queue).
func gatewayConfigRPM(srvURL string, rpm int) func(*config.Config) {
	return func(c *config.Config) {
		c.Providers = []config.Provider{{
			Name: "local", Type: "openai", BaseURL: srvURL, Timeout: 5 * time.Second,
			Models: []config.Model{
				{Name: "model-a", RPM: rpm, Price: config.Price{InputPerMTok: 0.15, OutputPerMTok: 0.60}},
				{Name: "model-b", RPM: rpm, Price: config.Price{InputPerMTok: 1, OutputPerMTok: 2}},
			},
		}}
	}
}

type invokeOut struct {
	Role              string          `json:"role"`
	RoleVersion       int             `json:"roleVersion"`
	Answer            string          `json:"answer"`
	JSON              json.RawMessage `json:"json"`
	Provider          string          `json:"provider"`
	Model             string          `json:"model"`
	LinkIndex         int             `json:"linkIndex"`
	Attempts          int             `json:"attempts"`
	InputTokens       int64           `json:"inputTokens"`
	OutputTokens      int64           `json:"outputTokens"`
	CostUSD           float64         `json:"costUsd"`
	Reused            bool            `json:"reused"`
	CallID            string          `json:"callId"`
	WorkflowID        string          `json:"workflowId"`
	ProviderLatencyMS int64           `json:"providerLatencyMs"`
}

// caller asks a role to answer one question (with the subject, "" for none) through one of the
// gateway's two paths; a completed call is 200 with its answer.
type caller func(t *testing.T, base, role, subject string) (int, invokeOut, []byte)

// invokeRun asks through the durable path: POST /v1/roles/{code}/runs (202 at once), then
// GET /v1/roles/{code}/runs/{id} until the run ends. A completed run is 200 with its result
// (reused when the POST joined an earlier run); a failed one 502 with the run.
func invokeRun(t *testing.T, base, role, subject string) (int, invokeOut, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"client": "tester", "subject": subject,
		"messages": []map[string]string{{"role": "user", "content": "How is checkout-api doing?"}}})
	code, out, hdr := post(t, base+"/v1/roles/"+role+"/runs", body)
	if code != http.StatusAccepted {
		return code, invokeOut{}, out
	}
	var acc struct {
		RunID  string `json:"runId"`
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(out, &acc))
	require.Equal(t, "/v1/roles/"+role+"/runs/"+acc.RunID, hdr.Get("Location"))
	var run struct {
		Status string    `json:"status"`
		Result invokeOut `json:"result"`
	}
	var raw []byte
	require.Eventually(t, func() bool {
		var c int
		c, raw, _ = request(t, http.MethodGet, base+"/v1/roles/"+role+"/runs/"+acc.RunID, nil)
		require.Equal(t, http.StatusOK, c, string(raw))
		require.NoError(t, json.Unmarshal(raw, &run))
		return run.Status != "running"
	}, 60*time.Second, 50*time.Millisecond)
	if run.Status != "completed" {
		return http.StatusBadGateway, invokeOut{}, raw
	}
	run.Result.Reused = acc.Status == "joined"
	return http.StatusOK, run.Result, raw
}

const testRoleYAML = `{
  "code": "gw-test", "name": "Gateway test", "system_message": "Answer briefly.",
  "chain": [
    {"provider": "local", "model": "model-a", "attempts": 3, "timeout": "2s"},
    {"provider": "local", "model": "model-b", "attempts": 2, "timeout": "2s"}
  ],
  "parameters": {"temperature": 0.2, "max_tokens": 100},
  "response_format": {"type": "text"},
  "rate_limit_interval": "1m"
}`

const schemaRoleJSON = `{
  "code": "gw-schema", "name": "Schema test", "system_message": "Answer in JSON.",
  "chain": [
    {"provider": "local", "model": "model-a", "attempts": 3, "timeout": "2s"},
    {"provider": "local", "model": "model-b", "attempts": 2, "timeout": "2s"}
  ],
  "response_format": {"type": "json_schema", "name": "verdict", "schema": {
    "type": "object", "required": ["state"], "additionalProperties": false,
    "properties": {"state": {"type": "string", "enum": ["STABLE", "UNSTABLE"]}}}}
}`

func invoke(t *testing.T, base, role, subject string) (int, invokeOut, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"client": "tester", "subject": subject,
		"messages": []map[string]string{{"role": "user", "content": "How is checkout-api doing?"}}})
	code, out, _ := post(t, base+"/v1/roles/"+role+"/invoke", body)
	var res invokeOut
	if code == http.StatusOK {
		require.NoError(t, json.Unmarshal(out, &res), string(out))
	}
	return code, res, out
}

func callsOf(t *testing.T, a *app.App, workflowID string) []store.LLMCall {
	t.Helper()
	calls, err := a.Store.ListLLMCalls(t.Context(), store.LLMCallFilter{WorkflowID: workflowID, Limit: 1000})
	require.NoError(t, err)
	// oldest first
	for i, j := 0, len(calls)-1; i < j; i, j = i+1, j-1 {
		calls[i], calls[j] = calls[j], calls[i]
	}
	return calls
}

// answeredCalls waits for the usage log of an answered call to hold its answer (the synchronous
// path commits the log in batches, a few milliseconds after the answer) and returns its calls,
// oldest first. Records are committed in order, so every earlier attempt is there too.
func answeredCalls(t *testing.T, a *app.App, id string) []store.LLMCall {
	t.Helper()
	var calls []store.LLMCall
	require.Eventually(t, func() bool {
		calls = callsOf(t, a, id)
		return len(calls) > 0 && calls[len(calls)-1].Status == "ok"
	}, 5*time.Second, 5*time.Millisecond, "the usage log of %s", id)
	return calls
}

func classes(calls []store.LLMCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Model + ":" + c.Status
		if c.ErrorClass != "" {
			out[i] += ":" + c.ErrorClass
		}
	}
	return out
}

// TestGatewayFaultMatrix drives the role gateway against a local OpenAI-wire server with
// injected faults; each case checks which link answered and what the usage log holds. It runs
// on both call paths: the synchronous invoke (the gateway package, in the API process) and the
// durable runs on a real Temporal server, there with models with a budget (links are activities
// on the model's rate-limited queue) and without (links are local activities retried by the
// workflow).
func TestGatewayFaultMatrix(t *testing.T) {
	t.Run("synchronous invoke", func(t *testing.T) { faultMatrix(t, 6000, invoke) })
	t.Run("durable runs, rate-limited queues", func(t *testing.T) { faultMatrix(t, 6000, invokeRun) })
	t.Run("durable runs, budget-free local activities", func(t *testing.T) { faultMatrix(t, 0, invokeRun) })
}

func faultMatrix(t *testing.T, rpm int, invoke caller) {
	llmSrv := llmtest.NewServer(t)
	sc := newScript(llmSrv)
	a, base := testenv.StartDev(t, testenv.DevConfig(t, gatewayConfigRPM(llmSrv.URL, rpm)))
	for _, r := range []string{testRoleYAML, schemaRoleJSON} {
		code, out, _ := request(t, http.MethodPost, base+"/v1/roles", []byte(r))
		require.Equal(t, http.StatusCreated, code, string(out))
	}
	serverError := llmtest.Errorf(500, "server_error", "upstream exploded")
	badRequest := llmtest.Errorf(400, "invalid_request_error", "unsupported parameter")

	cases := []struct {
		name      string
		role      string
		a, b      []llmtest.Reply
		aDefault  *llmtest.Reply
		wantModel string
		wantLink  int
		wantCalls []string
		check     func(t *testing.T, res invokeOut, reqs []llmtest.Received)
	}{
		{
			name: "500s then success", role: "gw-test",
			a:         []llmtest.Reply{serverError, serverError, llmtest.Text("recovered")},
			wantModel: "model-a", wantLink: 0,
			wantCalls: []string{"model-a:error:server_error", "model-a:error:server_error", "model-a:ok"},
			check: func(t *testing.T, res invokeOut, _ []llmtest.Received) {
				require.Equal(t, "recovered", res.Answer)
				require.Equal(t, 3, res.Attempts)
			},
		},
		{
			name: "429 honours Retry-After", role: "gw-test",
			a:         []llmtest.Reply{llmtest.RateLimited("2"), llmtest.Text("after the wait")},
			wantModel: "model-a", wantLink: 0,
			wantCalls: []string{"model-a:error:rate_limited", "model-a:ok"},
			check: func(t *testing.T, _ invokeOut, reqs []llmtest.Received) {
				require.Len(t, reqs, 2)
				gap := reqs[1].Time.Sub(reqs[0].Time)
				require.GreaterOrEqual(t, gap, 1900*time.Millisecond, "the retry waited for Retry-After (2s), not the 1s backoff")
			},
		},
		{
			name: "timeout then success", role: "gw-test",
			a:         []llmtest.Reply{{Text: "too late", Delay: 3 * time.Second}, llmtest.Text("in time")},
			wantModel: "model-a", wantLink: 0,
			// The first attempt is cut by the activity's start-to-close timeout: Temporal
			// records no activity result for it, so the usage log holds the answered attempt.
			check: func(t *testing.T, res invokeOut, _ []llmtest.Received) {
				require.Equal(t, "in time", res.Answer)
				require.Equal(t, 2, res.Attempts)
			},
		},
		{
			name: "malformed body then success", role: "gw-test",
			a:         []llmtest.Reply{{Body: `{"choices": [`}, llmtest.Text("well formed")},
			wantModel: "model-a", wantLink: 0,
			wantCalls: []string{"model-a:error:malformed", "model-a:ok"},
		},
		{
			name: "400 is not retried and moves to the next link", role: "gw-test",
			a:         []llmtest.Reply{badRequest},
			wantModel: "model-b", wantLink: 1,
			wantCalls: []string{"model-a:error:bad_request", "model-b:ok"},
		},
		{
			name: "schema-breaking JSON is retried once then falls back", role: "gw-schema",
			a:         []llmtest.Reply{llmtest.Text(`{"state": "GREAT"}`), llmtest.Text(`not json`)},
			b:         []llmtest.Reply{llmtest.Text(`{"state": "STABLE"}`)},
			wantModel: "model-b", wantLink: 1,
			wantCalls: []string{"model-a:error:bad_answer", "model-a:error:bad_answer", "model-b:ok"},
			check: func(t *testing.T, res invokeOut, _ []llmtest.Received) {
				require.JSONEq(t, `{"state": "STABLE"}`, string(res.JSON))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc.set("model-a", c.aDefault, c.a...)
			sc.set("model-b", nil, c.b...)
			before := llmSrv.Count()
			code, res, raw := invoke(t, base, c.role, "")
			require.Equal(t, http.StatusOK, code, string(raw))
			require.Equal(t, c.wantModel, res.Model)
			require.Equal(t, c.wantLink, res.LinkIndex)
			require.False(t, res.Reused)
			calls := answeredCalls(t, a, res.CallID)
			if c.wantCalls != nil {
				require.Equal(t, c.wantCalls, classes(calls))
			}
			last := calls[len(calls)-1]
			require.Equal(t, "tester", last.Client)
			require.Equal(t, c.role, last.Role)
			require.Equal(t, res.Answer, last.Response)
			require.Positive(t, last.InputTokens)
			require.InDelta(t, res.CostUSD, last.CostUSD, 1e-12)
			if c.role == "gw-test" {
				require.Contains(t, string(last.Request), `"temperature":0.2`, "the usage log keeps the parameters")
			}
			if c.check != nil {
				c.check(t, res, llmSrv.Requests()[before:])
			}
		})
	}

	t.Run("same subject inside the interval reuses the answer", func(t *testing.T) {
		sc.set("model-a", nil, llmtest.Text("first answer"), llmtest.Text("second answer"))
		before := llmSrv.Count()
		code, first, raw := invoke(t, base, "gw-test", "SlowSQL/checkout-api")
		require.Equal(t, http.StatusOK, code, string(raw))
		code, second, raw := invoke(t, base, "gw-test", "SlowSQL/checkout-api")
		require.Equal(t, http.StatusOK, code, string(raw))
		require.Equal(t, "first answer", second.Answer)
		require.True(t, second.Reused)
		require.False(t, first.Reused)
		require.Equal(t, 1, llmSrv.Count()-before, "the LLM was called once")
		code, other, _ := invoke(t, base, "gw-test", "SlowSQL/payment-api")
		require.Equal(t, http.StatusOK, code)
		require.False(t, other.Reused)
		require.Equal(t, "second answer", other.Answer)
	})

	t.Run("a role change is seen by the next call", func(t *testing.T) {
		sc.set("model-a", nil)
		sc.set("model-b", nil)
		code, before, raw := invoke(t, base, "gw-test", "")
		require.Equal(t, http.StatusOK, code, string(raw))
		changed := strings.Replace(testRoleYAML, "Answer briefly.", "Answer very briefly.", 1)
		code, out, _ := request(t, http.MethodPut, base+"/v1/roles/gw-test", []byte(changed))
		require.Equal(t, http.StatusOK, code, string(out))
		code, after, raw := invoke(t, base, "gw-test", "")
		require.Equal(t, http.StatusOK, code, string(raw))
		require.Equal(t, before.RoleVersion+1, after.RoleVersion)
		last := llmSrv.Requests()[llmSrv.Count()-1]
		require.Contains(t, string(last.Body), "Answer very briefly.")
	})

	t.Run("every link down ends in the built-in analyst", func(t *testing.T) {
		down := serverError
		sc.set("model-a", &down)
		sc.set("model-b", &down)
		before := llmSrv.Count()
		code, _, raw := invoke(t, base, "gw-test", "")
		require.Equal(t, http.StatusBadGateway, code, string(raw))
		require.Equal(t, 3+2, llmSrv.Count()-before, "every attempt of both links")
		role := `{"code": "alert-analyst", "name": "Alert analyst", "system_message": "Write the report.",
		  "chain": [{"provider": "local", "model": "model-a", "attempts": 2, "timeout": "2s"},
		            {"provider": "local", "model": "model-b", "attempts": 1, "timeout": "2s"},
		            {"provider": "builtin", "model": "analyst"}], "language": "ko"}`
		code, out, _ := request(t, http.MethodPut, base+"/v1/roles/alert-analyst", []byte(role))
		require.Equal(t, http.StatusOK, code, string(out))
		body, _ := profile.Example("slow-sql")
		code, out, _ = post(t, base+"/v1/alerts/apm", body)
		require.Equal(t, http.StatusAccepted, code, string(out))
		var acc accepted
		require.NoError(t, json.Unmarshal(out, &acc))
		v := waitIncident(t, base, acc.WorkflowID)
		require.Equal(t, "completed", v.Status, string(v.Details))
		rep, err := analyst.ParseReport(v.Report)
		require.NoError(t, err)
		require.Equal(t, "ko", rep.Language)
		require.True(t, strings.HasPrefix(strings.TrimSpace(v.Report), "[요약]"), v.Report)
		require.Equal(t, []string{"model-a:error:server_error", "model-a:error:server_error", "model-b:error:server_error", "analyst:ok"},
			classes(callsOf(t, a, acc.WorkflowID)))
		var details struct {
			Provider  string `json:"provider"`
			LinkIndex int    `json:"link_index"`
			Failures  []any  `json:"failures"`
		}
		require.NoError(t, json.Unmarshal(v.Details, &details))
		require.Equal(t, "builtin", details.Provider)
		require.Equal(t, 2, details.LinkIndex)
		require.Len(t, details.Failures, 2)
	})

	t.Run("usage summary", func(t *testing.T) {
		var u struct {
			Rows []struct {
				Key     string  `json:"key"`
				Calls   int64   `json:"calls"`
				Errors  int64   `json:"errors"`
				CostUSD float64 `json:"costUsd"`
			} `json:"rows"`
		}
		require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/usage?group_by=model", &u))
		byKey := map[string]int64{}
		for _, r := range u.Rows {
			byKey[r.Key] = r.Calls
		}
		require.Positive(t, byKey["local/model-a"])
		require.Positive(t, byKey["local/model-b"])
		require.Positive(t, byKey["builtin/analyst"])
	})
}

// TestRoleAPIValidatesAndVersions covers the role REST API: validation errors name the field,
// every change is a new version, any version can be restored.
func TestRoleAPIValidatesAndVersions(t *testing.T) {
	llmSrv := llmtest.NewServer(t)
	_, base := testenv.StartDev(t, testenv.DevConfig(t, gatewayConfig(llmSrv.URL)))

	var list struct {
		Roles []struct {
			Code string `json:"code"`
		} `json:"roles"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/roles", &list))
	var codes []string
	for _, r := range list.Roles {
		codes = append(codes, r.Code)
	}
	require.Equal(t, []string{"alert-analyst", "change-tracker", "code-tuner", "oncall-triager"}, codes, "the default pack is loaded at start")

	bad := []struct{ name, body, field string }{
		{"unknown provider", `{"code":"x1","system_message":"s","chain":[{"provider":"nope","model":"m"}]}`, "chain[0]"},
		{"unknown model", `{"code":"x1","system_message":"s","chain":[{"provider":"local","model":"gpt-9"}]}`, "chain[0]"},
		{"empty chain", `{"code":"x1","system_message":"s","chain":[]}`, "chain"},
		{"out of range", `{"code":"x1","system_message":"s","chain":[{"provider":"builtin","model":"analyst"}],"parameters":{"temperature":7}}`, "parameters.temperature"},
		{"invalid schema", `{"code":"x1","system_message":"s","chain":[{"provider":"builtin","model":"analyst"}],"response_format":{"type":"json_schema","schema":{"type":"nonsense"}}}`, "response_format.schema"},
		{"unknown field", `{"code":"x1","system_message":"s","chain":[{"provider":"builtin","model":"analyst"}],"temprature":1}`, "temprature"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			code, out, hdr := post(t, base+"/v1/roles", []byte(c.body))
			require.Contains(t, []int{400, 422}, code, string(out))
			require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
			require.Contains(t, string(out), `"field":"`+c.field+`"`)
		})
	}

	put := func(temp string) (int, []byte) {
		body := `{"code":"vers","name":"V","system_message":"s","chain":[{"provider":"builtin","model":"analyst"}],"parameters":{"temperature":` + temp + `}}`
		code, out, _ := request(t, http.MethodPut, base+"/v1/roles/vers", []byte(body))
		return code, out
	}
	code, out := put("0.1")
	require.Equal(t, http.StatusCreated, code, string(out))
	code, out = put("0.1")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(out), `"changed": false`, "an unchanged role makes no version")
	code, _ = put("0.7")
	require.Equal(t, http.StatusOK, code)
	var versions struct {
		Versions []struct {
			Version int    `json:"version"`
			Author  string `json:"author"`
		} `json:"versions"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/roles/vers/versions", &versions))
	require.Len(t, versions.Versions, 2)
	require.Equal(t, "dev", versions.Versions[1].Author)

	code, out, _ = post(t, base+"/v1/roles/vers/restore", []byte(`{"version": 1}`))
	require.Equal(t, http.StatusOK, code, string(out))
	var got struct {
		Parameters struct {
			Temperature float64 `json:"temperature"`
		} `json:"parameters"`
		Meta struct {
			Version int `json:"version"`
		} `json:"meta"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/roles/vers", &got))
	require.Equal(t, 0.1, got.Parameters.Temperature)
	require.Equal(t, 3, got.Meta.Version, "a restore is a new version")
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/roles/vers?version=2", &got))
	require.Equal(t, 0.7, got.Parameters.Temperature)

	code, _, _ = request(t, http.MethodDelete, base+"/v1/roles/vers", nil)
	require.Equal(t, http.StatusNoContent, code)
	require.Equal(t, http.StatusNotFound, getJSON(t, base+"/v1/roles/vers", nil))
	code, _, _ = post(t, base+"/v1/roles/vers/invoke", []byte(`{"messages":[{"role":"user","content":"hi"}]}`))
	require.Equal(t, http.StatusNotFound, code)

	code, out, _ = post(t, base+"/v1/roles/alert-analyst/invoke", []byte(`{"messages":[]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, string(out), `"field":"messages"`)
}

func storeFilter(workflowID string) store.LLMCallFilter {
	return store.LLMCallFilter{WorkflowID: workflowID, Limit: 100}
}
