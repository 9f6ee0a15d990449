package starter

import (
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

	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
)

// The OpenAI-compatible face of the gateway: POST /v1/chat/completions, where "model" names a
// role, and GET /v1/models, the roles that may be called. Any OpenAI SDK or tool works by
// changing its base URL to Vigil's /v1 and its API key to a Vigil API key. Errors have OpenAI's
// shape ({"error":{"message","type","param","code"}}), which the SDKs read.

// chatRequest is the part of OpenAI's chat-completion request Vigil acts on. Unknown fields are
// ignored, as OpenAI's SDKs send fields of newer API versions.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	Seed                *int            `json:"seed"`
	Stop                json.RawMessage `json:"stop"`
	N                   *int            `json:"n"`
	Tools               json.RawMessage `json:"tools"`
	Functions           json.RawMessage `json:"functions"`
}

// openAIError writes an error in OpenAI's shape.
func openAIError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	var c, p any
	if code != "" {
		c = code
	}
	if param != "" {
		p = param
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": c}})
}

// messageText reads a message's content: a string, or an array of parts whose text parts are
// joined (other parts are refused).
func messageText(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("content must be a string or an array of text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content parts of type %q are not supported (text only)", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func (a *API) chatCompletions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	var in chatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "", "could not parse the JSON body: "+err.Error())
		return
	}
	bad := func(param, msg string) {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", param, msg)
	}
	switch {
	case in.Model == "":
		bad("model", "model is required: it names a Vigil role (GET /v1/models)")
		return
	case in.N != nil && *in.N != 1:
		bad("n", "only n=1 is supported")
		return
	case len(in.Tools) > 0 && string(in.Tools) != "null", len(in.Functions) > 0 && string(in.Functions) != "null":
		bad("tools", "tools and functions are not supported by Vigil's roles")
		return
	case len(in.Messages) == 0:
		bad("messages", "at least one message is required")
		return
	}
	msgs := make([]llm.Message, 0, len(in.Messages))
	for i, m := range in.Messages {
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		if role != "system" && role != "user" && role != "assistant" {
			bad(fmt.Sprintf("messages[%d].role", i), "must be system, developer, user or assistant")
			return
		}
		text, err := messageText(m.Content)
		if err != nil || text == "" {
			if err == nil {
				err = errors.New("content is required")
			}
			bad(fmt.Sprintf("messages[%d].content", i), err.Error())
			return
		}
		msgs = append(msgs, llm.Message{Role: role, Content: text})
	}
	role, err := a.currentRole(r.Context(), in.Model)
	switch {
	case errors.Is(err, roles.ErrNotFound):
		openAIError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
			fmt.Sprintf("the model %q does not exist: it must name a Vigil role (GET /v1/models)", in.Model))
		return
	case err != nil:
		openAIError(w, http.StatusServiceUnavailable, "server_error", "", "", err.Error())
		return
	case !role.IsEnabled():
		openAIError(w, http.StatusForbidden, "invalid_request_error", "model_disabled", "model", fmt.Sprintf("the role %q is disabled", role.Code))
		return
	}
	over := roles.Parameters{Temperature: in.Temperature, TopP: in.TopP, MaxTokens: in.MaxTokens,
		PresencePenalty: in.PresencePenalty, FrequencyPenalty: in.FrequencyPenalty, Seed: in.Seed}
	if in.MaxCompletionTokens > 0 {
		over.MaxTokens = in.MaxCompletionTokens
	}
	if len(in.Stop) > 0 && string(in.Stop) != "null" {
		var one string
		if json.Unmarshal(in.Stop, &one) == nil {
			over.Stop = []string{one}
		} else if json.Unmarshal(in.Stop, &over.Stop) != nil {
			bad("stop", "stop must be a string or an array of strings")
			return
		}
	}
	role.Parameters = gateway.MergeParameters(role.Parameters, over)
	if err := role.Validate(); err != nil {
		bad("parameters", err.Error())
		return
	}
	req := gateway.Request{Role: role, Client: PrincipalFrom(r.Context()).Client, Messages: msgs}
	if in.Stream {
		a.streamChat(w, r, req, in.StreamOptions != nil && in.StreamOptions.IncludeUsage)
		return
	}
	res, err := a.Gateway.Invoke(r.Context(), req)
	if err != nil {
		chatFailure(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-" + res.CallID, "object": "chat.completion", "created": start.Unix(), "model": role.Code,
		"system_fingerprint": nil,
		"choices": []any{map[string]any{"index": 0, "logprobs": nil, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": res.Text, "refusal": nil}}},
		"usage": map[string]any{"prompt_tokens": res.InputTokens, "completion_tokens": res.OutputTokens,
			"total_tokens": res.InputTokens + res.OutputTokens},
		"vigil": vigilInfo(res, time.Since(start)),
	})
}

func vigilInfo(res gateway.Result, took time.Duration) map[string]any {
	return map[string]any{"roleVersion": res.RoleVersion, "provider": res.Provider, "model": res.Model,
		"linkIndex": res.LinkIndex, "attempts": res.Attempts, "costUsd": res.CostUSD, "reused": res.Reused,
		"callId": res.CallID, "latencyMs": took.Milliseconds()}
}

// chatFailure answers a call that produced no answer.
func chatFailure(w http.ResponseWriter, err error) {
	var ce *gateway.ChainError
	if errors.As(err, &ce) {
		var parts []string
		for _, f := range ce.Failures {
			parts = append(parts, fmt.Sprintf("chain[%d] %s/%s: %s", f.LinkIndex, f.Provider, f.Model, f.Error))
		}
		msg := err.Error() + ": " + strings.Join(parts, "; ")
		if ce.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ce.RetryAfter.Seconds()))))
			openAIError(w, http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "", msg)
			return
		}
		openAIError(w, http.StatusBadGateway, "upstream_error", "all_links_failed", "", msg)
		return
	}
	openAIError(w, http.StatusServiceUnavailable, "server_error", "", "", err.Error())
}

// streamChat answers with Server-Sent Events in OpenAI's chunk format. The response starts with
// the first byte of the answer: until then a failure is an ordinary error response (and the
// chain falls back); after it, a failure ends the stream with an error event and no [DONE].
func (a *API) streamChat(w http.ResponseWriter, r *http.Request, req gateway.Request, includeUsage bool) {
	rc := http.NewResponseController(w)
	created := time.Now().Unix()
	id := "chatcmpl-" + randomID()
	var buf []byte
	chunk := func(delta map[string]any, finish any) error {
		ev := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Role.Code,
			"system_fingerprint": nil,
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		if includeUsage {
			ev["usage"] = nil
		}
		b, _ := json.Marshal(ev)
		buf = append(append(append(buf[:0], "data: "...), b...), "\n\n"...)
		_, err := w.Write(buf)
		return err
	}
	started := false
	emit := func(text string) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			if err := chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil); err != nil {
				return err
			}
		}
		if err := chunk(map[string]any{"content": text}, nil); err != nil {
			return err
		}
		return rc.Flush()
	}
	res, err := a.Gateway.InvokeStream(r.Context(), req, emit)
	if err != nil {
		if !started {
			chatFailure(w, err)
			return
		}
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": err.Error(), "type": "upstream_error",
			"param": nil, "code": "stream_interrupted"}})
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		_ = rc.Flush()
		return
	}
	if !started {
		_ = emit("") // an empty answer: the stream still opens
	}
	_ = chunk(map[string]any{}, "stop")
	if includeUsage {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Role.Code,
			"choices": []any{}, "usage": map[string]any{"prompt_tokens": res.InputTokens, "completion_tokens": res.OutputTokens,
				"total_tokens": res.InputTokens + res.OutputTokens}, "vigil": vigilInfo(res, 0)})
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// listModels answers GET /v1/models: every enabled role, as OpenAI lists models.
func (a *API) listModels(w http.ResponseWriter, r *http.Request) {
	list, err := a.Roles.List(r.Context())
	if err != nil {
		openAIError(w, http.StatusServiceUnavailable, "server_error", "", "", err.Error())
		return
	}
	data := make([]any, 0, len(list))
	for _, v := range list {
		if !v.IsEnabled() {
			continue
		}
		data = append(data, map[string]any{"id": v.Code, "object": "model", "created": v.Meta.CreatedAt.Unix(), "owned_by": "vigil"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
