package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/roles"
)

// RoleCallInput asks a role to answer.
type RoleCallInput struct {
	Role     roles.Role    `json:"role"`
	Client   string        `json:"client"`
	Subject  string        `json:"subject"`
	Messages []llm.Message `json:"messages"`
	Task     *llm.Task     `json:"task,omitempty"`
	// Expect names the answer check the link activity applies ("" = none, analyst.TaskIncidentReport
	// = the four-section report format).
	Expect string `json:"expect,omitempty"`
	// Vault is the masking scope (incident, deployment, tuning run) the call belongs to; nil
	// starts a new one. The result carries it, extended, for the caller's next call.
	Vault *mask.Vault `json:"vault,omitempty"`
}

// RoleCallResult is the role's answer and how it was obtained.
type RoleCallResult struct {
	activities.LinkResult
	RoleVersion int                      `json:"role_version"`
	LinkIndex   int                      `json:"link_index"`
	Attempts    int                      `json:"attempts"`
	Failures    []activities.LinkFailure `json:"failures,omitempty"`
	// Vault is the masking scope after the call.
	Vault *mask.Vault `json:"vault,omitempty"`
}

// ErrTypeChainExhausted is the type of the error returned when every link failed.
const ErrTypeChainExhausted = "ChainExhausted"

// callLinkLocally calls a link of a model without a requests-per-minute budget as local
// activities, inside the workflow task: no task queue to enforce a budget on, and no round trips
// through the server per call (docs/benchmarks.md). Each attempt is its own local activity, so
// every attempt — failed ones too — is a marker in the history; the waits between attempts are
// timers, honouring a provider's Retry-After. Same classification as the activity path:
// non-retryable errors end the link at once.
func callLinkLocally(ctx workflow.Context, call activities.LinkCall, link roles.Link) (activities.LinkResult, error) {
	var gw *activities.Gateway
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: gateway.LinkTimeout(link),
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	maxAttempts := gateway.MaxAttempts(link)
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		call.Attempt = attempt
		var res activities.LinkResult
		err := workflow.ExecuteLocalActivity(lctx, gw.CallLink, call).Get(ctx, &res)
		if err == nil {
			res.Attempt = attempt
			return res, nil
		}
		lastErr = err
		var appErr *temporal.ApplicationError
		isApp := errors.As(err, &appErr)
		if !gateway.Retry(!isApp || !appErr.NonRetryable(), attempt, maxAttempts) {
			break
		}
		var retryAfter time.Duration
		if isApp {
			retryAfter = appErr.NextRetryDelay()
		}
		if err := workflow.Sleep(ctx, gateway.RetryWait(attempt, retryAfter)); err != nil {
			return activities.LinkResult{}, err
		}
	}
	return activities.LinkResult{}, lastErr
}

// callLinkBudgeted calls a link of a model with a requests-per-minute budget as an activity on
// the model's queue, with the link's retry policy. When the model's shared budget (held in the
// store, taken by every replica and both call paths) has no slot yet, the activity reserves the
// next one and says how long until it: the workflow sleeps that long on a timer — durably,
// holding no worker slot — and calls again with the attempts left, without taking another slot,
// for at most LinkQueueWait in all.
func callLinkBudgeted(ctx workflow.Context, call activities.LinkCall, link roles.Link) (activities.LinkResult, error) {
	var gw *activities.Gateway
	base := workflow.GetInfo(ctx).TaskQueueName
	until := workflow.Now(ctx).Add(LinkQueueWait)
	maxAttempts := gateway.MaxAttempts(link)
	for {
		opts := linkActivityOptions(base, link)
		opts.RetryPolicy.MaximumAttempts = int32(maxAttempts - call.AttemptsBefore)
		call.ReserveUntil = until
		var res activities.LinkResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), gw.CallLink, call).Get(ctx, &res)
		var appErr *temporal.ApplicationError
		if err == nil || !errors.As(err, &appErr) || appErr.Type() != gateway.ErrTypeBudget {
			return res, err
		}
		var made int
		var reserved bool // the activity took the slot after the wait for this call (gateway.TakeLinkSlot)
		if appErr.HasDetails() {
			_ = appErr.Details(&made, &reserved)
		}
		call.AttemptsBefore, call.SlotReserved = made, reserved
		wait := appErr.NextRetryDelay()
		if call.AttemptsBefore >= maxAttempts || (!reserved && workflow.Now(ctx).Add(wait).After(until)) {
			return res, err
		}
		if err := workflow.Sleep(ctx, wait); err != nil {
			return activities.LinkResult{}, err
		}
	}
}

// RoleCallWorkflow answers with a role as a workflow of its own, for the invoke API and for
// callers that want the call as a child workflow. See CallRole.
func RoleCallWorkflow(ctx workflow.Context, in RoleCallInput) (RoleCallResult, error) {
	return CallRole(ctx, in)
}

// CallRole answers with a role from inside any workflow: it walks the role's LLM chain in order, calling each link
// as one activity with the link's own retry policy. A link that keeps failing (outage, 429 past
// its attempts, refusal, a malformed answer) hands over to the next link, so a model that is down
// or retired does not stop the service. Every attempt is visible in the workflow history.
func CallRole(ctx workflow.Context, in RoleCallInput) (RoleCallResult, error) {
	if len(in.Role.Chain) == 0 {
		return RoleCallResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("role %q has an empty chain", in.Role.Code), "InvalidRole", nil)
	}
	var gw *activities.Gateway
	var failures []activities.LinkFailure
	attempts := 0

	// Mask the messages once for every link: no sensitive value leaves in the clear, and the
	// same value gets the same token in every message and every step of the scope.
	messages, vault := in.Messages, in.Vault
	masking := (in.Role.Masking == nil || !in.Role.Masking.Disabled) && len(in.Messages) > 0
	lactx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	if masking {
		req := activities.MaskRequest{Vault: vault, Options: in.Role.Masking.Options()}
		for _, m := range in.Messages {
			req.Texts = append(req.Texts, m.Content)
		}
		var mr activities.MaskResult
		if err := workflow.ExecuteLocalActivity(lactx, gw.MaskTexts, req).Get(ctx, &mr); err != nil {
			return RoleCallResult{Vault: vault}, err
		}
		vault = mr.Vault
		messages = make([]llm.Message, len(in.Messages))
		for i, m := range in.Messages {
			messages[i] = llm.Message{Role: m.Role, Content: mr.Texts[i]}
		}
	}

	for i, link := range in.Role.Chain {
		params := gateway.LinkParameters(in.Role, link)
		call := activities.LinkCall{
			Role: in.Role.Code, RoleVersion: in.Role.Version, LinkIndex: i, Provider: link.Provider,
			Client: in.Client, Subject: in.Subject, Expect: in.Expect,
			Request: llm.Request{
				Model: link.Model, System: in.Role.SystemMessage, Messages: messages,
				Parameters: llm.Parameters(params), ResponseFormat: llm.ResponseFormat(in.Role.ResponseFormat), Task: in.Task,
			},
		}
		var res activities.LinkResult
		var err error
		if link.Unlimited {
			res, err = callLinkLocally(ctx, call, link)
		} else {
			res, err = callLinkBudgeted(ctx, call, link)
		}
		if err == nil {
			attempts += res.Attempt
			if masking && vault.Len() > 0 {
				// The answer quotes tokens; the reader sees the original values again.
				if err := workflow.ExecuteLocalActivity(lactx, gw.UnmaskText, activities.UnmaskRequest{Vault: vault, Text: res.Text,
					JSON: in.Role.ResponseFormat.Type == "json_schema" || in.Role.ResponseFormat.Type == "json_object"}).Get(ctx, &res.Text); err != nil {
					return RoleCallResult{Vault: vault}, err
				}
			}
			return RoleCallResult{LinkResult: res, RoleVersion: in.Role.Version, LinkIndex: i, Attempts: attempts, Failures: failures, Vault: vault}, nil
		}
		attempts += gateway.MaxAttempts(link)
		failures = append(failures, activities.LinkFailure{LinkIndex: i, Provider: link.Provider, Model: link.Model, Error: errMessage(err)})
		workflow.GetLogger(ctx).Warn("role link failed, trying the next", "role", in.Role.Code, "link", i, "provider", link.Provider, "model", link.Model, "error", err)
	}
	return RoleCallResult{Failures: failures, Attempts: attempts, Vault: vault}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("role %q: all %d links failed", in.Role.Code, len(in.Role.Chain)), ErrTypeChainExhausted, nil, failures)
}

// LinkQueueWait bounds how long a call may wait for its model's rate-limited task queue before
// the chain moves on to the next link.
const LinkQueueWait = 10 * time.Minute

// LinkTaskQueue is the task queue of a provider model's calls: each model has its own, with the
// model's requests-per-minute budget as the queue's activity rate limit, so the budget holds
// across every worker replica. The built-in analyst runs on the base queue.
func LinkTaskQueue(base, provider, model string) string {
	if provider == llm.BuiltinName {
		return base
	}
	return base + "/llm/" + provider + "/" + model
}

func linkActivityOptions(base string, l roles.Link) workflow.ActivityOptions {
	queue := LinkTaskQueue(base, l.Provider, l.Model)
	if l.Unlimited {
		// No budget to enforce: run on the workflow's own queue, where the worker that
		// schedules the call can take it at once (eager activity dispatch).
		queue = base
	}
	return workflow.ActivityOptions{
		TaskQueue:              queue,
		ScheduleToStartTimeout: LinkQueueWait,
		StartToCloseTimeout:    gateway.LinkTimeout(l),
		// The same waits as gateway.Backoff; a provider's Retry-After (NextRetryDelay) replaces them.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    gateway.InitialBackoff,
			BackoffCoefficient: gateway.BackoffCoefficient,
			MaximumInterval:    gateway.MaxBackoff,
			MaximumAttempts:    int32(gateway.MaxAttempts(l)),
			// A budget wait is the workflow's (callLinkBudgeted), not an attempt.
			NonRetryableErrorTypes: []string{gateway.ErrTypeRejected, gateway.ErrTypeBudget},
		},
	}
}

// MergeParameters returns base with every parameter that over sets replaced
// (gateway.MergeParameters).
func MergeParameters(base, over roles.Parameters) roles.Parameters {
	return gateway.MergeParameters(base, over)
}

func errMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type() + ": " + appErr.Message()
	}
	var toErr *temporal.TimeoutError
	if errors.As(err, &toErr) {
		return "timeout: " + toErr.Error()
	}
	return err.Error()
}
