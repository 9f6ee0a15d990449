package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
)

// DefaultMaxWait bounds how long one invoke waits between attempts (backoff, Retry-After, the
// model's budget) in all: a longer wait moves on to the next link instead.
const DefaultMaxWait = 30 * time.Second

// Gateway answers role calls synchronously, in the API process: the caller waits on its HTTP
// connection, so a workflow would add latency and no durability. The chain walk has the
// workflow path's semantics, from the same decisions (Classify, Retry, RetryWait, CheckAnswer,
// MaxAttempts, LinkTimeout): retries with backoff, Retry-After honoured, refusals moving on at
// once, schema-breaking answers retried once then the next link.
type Gateway struct {
	Providers *llm.Registry
	// Store answers reuse lookups (the usage log of other replicas); nil: reuse is per process.
	Store store.Store
	// Usage writes the usage log in batches; nil: nothing is logged.
	Usage *UsageLog
	// Budget is the models' shared rate budget; nil: none.
	Budget Budget
	// MaxWait bounds the waits of one invoke (DefaultMaxWait when zero).
	MaxWait time.Duration
	Logger  *slog.Logger

	reuse reuseCache
}

// Budget takes one call from a model's shared rate budget: the slot free now (wait 0), or the
// next one if it comes within `within`, reserved for the caller, who waits and then calls
// without taking again (reserved true, wait > 0); or, when the next slot is further off,
// nothing (reserved false, wait until that slot).
type Budget interface {
	Reserve(ctx context.Context, provider, model string, within time.Duration) (wait time.Duration, reserved bool, err error)
}

// Request is one synchronous role call.
type Request struct {
	// Role is the role's current version, prepared for calls (roles.ForCall) with the caller's
	// parameters merged.
	Role     roles.Role
	Client   string
	Subject  string
	Messages []llm.Message
	// Expect and Task as in a workflow's role call (usually empty for API callers).
	Expect string
	Task   *llm.Task
}

// Result is the role's answer and how it was obtained.
type Result struct {
	LinkResult
	RoleVersion int           `json:"role_version"`
	LinkIndex   int           `json:"link_index"`
	Attempts    int           `json:"attempts"`
	Failures    []LinkFailure `json:"failures,omitempty"`
	// Reused is true when the answer was produced for an earlier caller (rate_limit_interval).
	Reused bool `json:"reused"`
	// CallID names the call in the usage log (store.LLMCall.WorkflowID).
	CallID string `json:"call_id"`
}

// ChainError is returned when no link answered.
type ChainError struct {
	Role     string
	Failures []LinkFailure
	// RetryAfter is set when the last link failed only for want of budget: when to try again.
	RetryAfter time.Duration
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("role %q: all %d links failed", e.Role, len(e.Failures))
}

// Invoke answers a request with its role: from an earlier answer when the role's rate-limit
// interval allows it, else by walking the role's chain.
func (g *Gateway) Invoke(ctx context.Context, req Request) (Result, error) {
	return g.invoke(ctx, req, nil)
}

func (g *Gateway) invoke(ctx context.Context, req Request, s *streamState) (Result, error) {
	role := req.Role
	if len(role.Chain) == 0 {
		return Result{}, fmt.Errorf("role %q has an empty chain", role.Code)
	}
	interval := role.RateLimitInterval.D()
	if req.Subject == "" || interval <= 0 {
		return g.walk(ctx, req, newCallID(role.Code), s)
	}
	key := ReuseKey(role.Code, req.Subject, req.Client, req.Messages, role.Parameters)
	f, first := g.reuse.join(key, interval)
	if !first {
		select {
		case <-f.done:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		if f.err != nil {
			return Result{}, f.err
		}
		return g.reused(req, f.res), nil
	}
	if res, ok := g.fromStore(ctx, req, key, interval); ok {
		g.reuse.finish(key, f, res, nil)
		return g.reused(req, res), nil
	}
	res, err := g.walk(ctx, req, key, s)
	g.reuse.finish(key, f, res, err)
	return res, err
}

// reused is an earlier answer handed to another caller: it cost nothing, but the usage log
// still says who asked.
func (g *Gateway) reused(req Request, res Result) Result {
	res.Reused = true
	res.Attempts, res.CostUSD, res.InputTokens, res.OutputTokens, res.Failures = 0, 0, 0, 0, nil
	if g.Usage != nil {
		g.Usage.Record(store.LLMCall{
			ID: res.CallID + "/reuse/" + randomHex(6), Time: time.Now().UTC(), Client: req.Client,
			Role: req.Role.Code, RoleVersion: res.RoleVersion, Provider: res.Provider, Model: res.Model, Subject: req.Subject,
			Response: res.Text, Status: "ok", WorkflowID: res.CallID, Reused: true,
		})
	}
	return res
}

// fromStore finds an answer of the same call inside the interval in the usage log (another
// replica's, or this one's from before a restart). The log holds masked text only, so only an
// answer to messages in which nothing was masked can be handed out as it is.
func (g *Gateway) fromStore(ctx context.Context, req Request, key string, interval time.Duration) (Result, bool) {
	if g.Store == nil {
		return Result{}, false
	}
	calls, err := g.Store.ListLLMCalls(ctx, store.LLMCallFilter{WorkflowID: key, Role: req.Role.Code,
		Client: req.Client, Since: time.Now().Add(-interval), Limit: 20})
	if err != nil {
		g.logger().Warn("reuse lookup", "role", req.Role.Code, "error", err)
		return Result{}, false
	}
	for _, c := range calls {
		if c.Status != "ok" || c.Reused || c.Subject != req.Subject {
			continue
		}
		var sent struct {
			Messages []llm.Message `json:"messages"`
		}
		if json.Unmarshal(c.Request, &sent) != nil || !sameMessages(sent.Messages, req.Messages) {
			continue // masked: the original answer is not in the store
		}
		return Result{LinkResult: LinkResult{Text: c.Response, Provider: c.Provider, Model: c.Model},
			RoleVersion: c.RoleVersion, CallID: key}, true
	}
	return Result{}, false
}

func sameMessages(a, b []llm.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// walk calls the chain's links in order until one answers.
func (g *Gateway) walk(ctx context.Context, req Request, callID string, s *streamState) (Result, error) {
	role := req.Role
	runID := randomHex(8)
	messages, vault := req.Messages, (*mask.Vault)(nil)
	if (role.Masking == nil || !role.Masking.Disabled) && len(req.Messages) > 0 {
		m, err := Masker(role.Masking.Options())
		if err != nil {
			return Result{}, fmt.Errorf("role %q masking options: %w", role.Code, err)
		}
		vault = mask.NewVault()
		if s != nil {
			s.vault = vault
		}
		messages = make([]llm.Message, len(req.Messages))
		for i, msg := range req.Messages {
			messages[i] = llm.Message{Role: msg.Role, Content: m.Mask(vault, msg.Content)}
		}
	}
	maxWait := g.MaxWait
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	deadline := time.Now().Add(maxWait)
	var failures []LinkFailure
	attempts := 0
	var budgetWait time.Duration
	for i, link := range role.Chain {
		call := LinkCall{
			Role: role.Code, RoleVersion: role.Version, LinkIndex: i, Provider: link.Provider,
			Client: req.Client, Subject: req.Subject, Expect: req.Expect,
			Request: llm.Request{Model: link.Model, System: role.SystemMessage, Messages: messages,
				Parameters: llm.Parameters(LinkParameters(role, link)), ResponseFormat: llm.ResponseFormat(role.ResponseFormat), Task: req.Task},
		}
		res, n, err := g.callLink(ctx, call, link, callID, runID, deadline, s)
		attempts += n
		var broken *StreamBrokenError
		if errors.As(err, &broken) {
			return Result{Failures: failures, Attempts: attempts, CallID: callID}, err
		}
		if err == nil {
			if vault != nil && vault.Len() > 0 {
				res.Text = Unmask(vault, res.Text, role.ResponseFormat.Type == "json_schema" || role.ResponseFormat.Type == "json_object")
			}
			return Result{LinkResult: res, RoleVersion: role.Version, LinkIndex: i, Attempts: attempts,
				Failures: failures, CallID: callID}, nil
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		var be *BudgetError
		budgetWait = 0
		if errors.As(err, &be) {
			budgetWait = be.Wait
		}
		failures = append(failures, LinkFailure{LinkIndex: i, Provider: link.Provider, Model: link.Model, Error: failureMessage(err)})
		g.logger().Warn("role link failed, trying the next", "role", role.Code, "link", i, "provider", link.Provider, "model", link.Model, "error", err)
	}
	return Result{Failures: failures, Attempts: attempts, CallID: callID},
		&ChainError{Role: role.Code, Failures: failures, RetryAfter: budgetWait}
}

// callLink makes the attempts of one link; it returns how many reached the provider.
func (g *Gateway) callLink(ctx context.Context, call LinkCall, link roles.Link, callID, runID string, deadline time.Time, s *streamState) (LinkResult, int, error) {
	st, streaming := g.canStream(call)
	streaming = streaming && s != nil
	maxAttempts := MaxAttempts(link)
	sent := 0
	for attempt := 1; ; attempt++ {
		if g.Budget != nil && link.Provider != llm.BuiltinName {
			if err := g.waitBudget(ctx, link, deadline); err != nil {
				return LinkResult{}, sent, err
			}
		}
		actx, cancel := context.WithTimeout(ctx, LinkTimeout(link))
		var res LinkResult
		var err error
		if streaming {
			res, err = g.streamAttempt(actx, st, call, attempt, s)
		} else {
			res, err = CallLink(actx, g.Providers, call, attempt)
		}
		cancel()
		sent++
		if ctx.Err() != nil {
			return LinkResult{}, sent, ctx.Err() // the caller gave up: no further attempt
		}
		g.record(call, res, err, callID, runID)
		if err == nil {
			return res, sent, nil
		}
		var broken *StreamBrokenError
		if errors.As(err, &broken) {
			return res, sent, err
		}
		f := Classify(err, attempt)
		if !Retry(f.Retryable, attempt, maxAttempts) {
			return LinkResult{}, sent, f
		}
		wait := RetryWait(attempt, f.RetryAfter)
		if time.Now().Add(wait).After(deadline) {
			return LinkResult{}, sent, fmt.Errorf("%w (the next attempt would wait %s, past the invoke's wait limit)", f, wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return LinkResult{}, sent, err
		}
	}
}

// waitBudget takes the link's slot from its model's budget: free now, or reserved ahead up to
// the deadline and waited for (callers that wait together each have their own slot, so they
// do not wake together and collide). A caller that gives up while it waits wastes its slot.
func (g *Gateway) waitBudget(ctx context.Context, link roles.Link, deadline time.Time) error {
	wait, reserved, err := g.Budget.Reserve(ctx, link.Provider, link.Model, max(0, time.Until(deadline)))
	switch {
	case err != nil:
		// The budget's store failed: the call goes on (the provider's own 429s still apply).
		g.logger().Warn("rate budget", "provider", link.Provider, "model", link.Model, "error", err)
		return nil
	case !reserved:
		return &BudgetError{Provider: link.Provider, Model: link.Model, Wait: wait}
	case wait > 0:
		return sleep(ctx, wait)
	}
	return nil
}

func (g *Gateway) record(call LinkCall, res LinkResult, err error, callID, runID string) {
	if g.Usage == nil {
		return
	}
	c := UsageRecord(call, res, err)
	c.ID = callID + "/" + runID + "/" + strconv.Itoa(call.LinkIndex) + "/" + strconv.Itoa(res.Attempt)
	c.WorkflowID, c.RunID = callID, runID
	g.Usage.Record(c)
}

func (g *Gateway) logger() *slog.Logger {
	if g.Logger == nil {
		return slog.Default()
	}
	return g.Logger
}

func failureMessage(err error) string {
	var f Failure
	if errors.As(err, &f) {
		return f.Type + ": " + err.Error()
	}
	return err.Error()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newCallID names a call that no other caller shares: "invoke-<role>-", then the time in
// milliseconds (6 bytes) and 6 random bytes, in hex (two calls of the same millisecond share
// their name once in 2^48). The time first keeps the usage log's rows of one moment together in
// its indexes (the ID and the workflow ID): with a random name every batch's inserts land on
// pages all over the table, which costs SQLite 1.6 times the work per record.
func newCallID(role string) string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint16(b[:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	_, _ = rand.Read(b[6:])
	return "invoke-" + role + "-" + hex.EncodeToString(b[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ReuseKey names the calls that may share an answer inside a role's rate-limit interval: the
// same role, subject, client, messages and parameters (another client, or another question,
// never gets someone else's answer). The usage log records it as the call's workflow ID.
func ReuseKey(role, subject, client string, messages []llm.Message, params roles.Parameters) string {
	scope, _ := json.Marshal(struct {
		Messages   []llm.Message    `json:"m"`
		Parameters roles.Parameters `json:"p"`
	}{messages, params})
	h := sha256.New()
	for _, s := range []string{subject, client, string(scope)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "invoke-" + role + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}
