package gateway

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
)

// LinkCall is one attempt's request to one chain link.
type LinkCall struct {
	Role        string      `json:"role"`
	RoleVersion int         `json:"role_version"`
	LinkIndex   int         `json:"link_index"`
	Provider    string      `json:"provider"`
	Client      string      `json:"client"`
	Subject     string      `json:"subject"`
	Expect      string      `json:"expect,omitempty"`
	Request     llm.Request `json:"request"`
	// Attempt numbers the attempts of a link called as local activities (the workflow retries
	// those itself); 0 means the activity's own attempt counter applies.
	Attempt int `json:"attempt,omitempty"`
	// AttemptsBefore is how many attempts of the link earlier activities made (before a wait for
	// the model's budget): the activity's own attempts count on from there.
	AttemptsBefore int `json:"attempts_before,omitempty"`
	// ReserveUntil is how far ahead the activity may reserve its model's next slot when none is
	// free now (the end of the workflow's wait for the link); zero: no reservation.
	ReserveUntil time.Time `json:"reserve_until,omitzero"`
	// SlotReserved says an earlier activity reserved this call's slot (TakeLinkSlot): the
	// activity's first attempt goes without taking one.
	SlotReserved bool `json:"slot_reserved,omitempty"`
}

// LinkResult is one link's answer.
type LinkResult struct {
	Text         string  `json:"text"`
	Provider     string  `json:"provider"`
	Model        string  `json:"model"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	LatencyMS    int64   `json:"latency_ms"`
	Attempt      int     `json:"attempt"`
}

// LinkFailure records why a chain link did not answer.
type LinkFailure struct {
	LinkIndex int    `json:"link_index"`
	Provider  string `json:"provider"`
	Model     string `json:"model"`
	Error     string `json:"error"`
}

// CallLink sends one attempt of a link to its provider and checks the answer against what the
// role expects. The error is the provider's own (or a BadAnswerError); Classify says what it
// means. The result carries the tokens and cost also when the answer is refused.
func CallLink(ctx context.Context, reg *llm.Registry, in LinkCall, attempt int) (LinkResult, error) {
	res := LinkResult{Provider: in.Provider, Model: in.Request.Model, Attempt: attempt}
	p, err := reg.Get(in.Provider)
	if err != nil {
		return res, err
	}
	start := time.Now()
	resp, err := p.Complete(ctx, in.Request)
	res.LatencyMS = time.Since(start).Milliseconds()
	res.Text, res.InputTokens, res.OutputTokens = resp.Text, resp.InputTokens, resp.OutputTokens
	res.CostUSD = reg.Price(in.Provider, in.Request.Model).Cost(resp)
	if resp.Model != "" {
		res.Model = resp.Model
	}
	if err == nil {
		err = CheckAnswer(in.Expect, roles.ResponseFormat(in.Request.ResponseFormat), resp.Text)
	}
	return res, err
}

// UsageRecord is the usage-log record of one attempt (the caller sets ID, WorkflowID and RunID).
// The request is logged as sent: masked messages, model and parameters.
func UsageRecord(in LinkCall, res LinkResult, callErr error) store.LLMCall {
	reqJSON, _ := json.Marshal(struct {
		Model      string         `json:"model"`
		Messages   []llm.Message  `json:"messages"`
		Parameters llm.Parameters `json:"parameters"`
	}{in.Request.Model, in.Request.Messages, in.Request.Parameters})
	c := store.LLMCall{
		Time:         time.Now().UTC(),
		Client:       in.Client,
		Role:         in.Role,
		RoleVersion:  in.RoleVersion,
		Provider:     in.Provider,
		Model:        res.Model,
		Subject:      in.Subject,
		Request:      reqJSON,
		Response:     res.Text,
		Status:       "ok",
		LatencyMS:    res.LatencyMS,
		InputTokens:  res.InputTokens,
		OutputTokens: res.OutputTokens,
		CostUSD:      res.CostUSD,
		Attempt:      res.Attempt,
	}
	if in.Provider == llm.BuiltinName {
		// The built-in analyst reads the original data and answers in process; what it wrote
		// is masked before it goes into the usage log, which never holds originals.
		c.Response = MaskForLog(c.Response)
	}
	if callErr != nil {
		c.Status, c.Error, c.ErrorClass = "error", callErr.Error(), ErrorClass(callErr)
	}
	return c
}
