package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
)

// Error types returned by the link activity; the role call decides from them what comes next
// (see the gateway package, which both call paths share).
const (
	ErrTypeRejected    = gateway.ErrTypeRejected
	ErrTypeUnavailable = gateway.ErrTypeUnavailable
	ErrTypeBadAnswer   = gateway.ErrTypeBadAnswer
	// ErrTypeRoleNotFound: the role code names no role.
	ErrTypeRoleNotFound = "RoleNotFound"
)

// Gateway holds the role call's activities (one chain link's call, the role's lookup, masking)
// and what they use. Workflows reference its methods through a nil *Gateway; the model queues'
// workers run its CallLink too (worker.NewLinkWorkers).
type Gateway struct {
	// Store holds the roles and the usage log (nil: built-in roles, no usage log).
	Store store.Store
	// Providers are the LLM providers the links name.
	Providers *llm.Registry
	Logger    *slog.Logger
	// Budget is the models' shared rate budget (nil: none).
	Budget gateway.Budget
	// UsageSink, when set, receives every usage-log record too (Elasticsearch).
	UsageSink UsageSink
}

// UsageSink receives LLM call records besides the store.
type UsageSink interface {
	Record(ctx context.Context, c store.LLMCall) error
}

// LinkCall is the input of one chain link's activity.
type LinkCall = gateway.LinkCall

// LinkResult is one link's answer.
type LinkResult = gateway.LinkResult

// CallLink sends one request to one provider/model, checks the answer against what the role
// expects and logs the call. Errors are classified into the ErrType* application error types.
func (a *Gateway) CallLink(ctx context.Context, in LinkCall) (LinkResult, error) {
	info := activity.GetInfo(ctx)
	attempt := in.AttemptsBefore + int(info.Attempt)
	if in.Attempt > 0 {
		attempt = in.Attempt
	}
	if _, err := a.Providers.Get(in.Provider); err != nil {
		return LinkResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, err)
	}
	if a.Budget != nil && in.Provider != llm.BuiltinName {
		wait, reserved, err := gateway.TakeLinkSlot(ctx, a.Budget, in, info.Attempt)
		switch {
		case err != nil:
			// The budget's store failed: the call goes on (the provider's own 429s still apply).
			logger(a.Logger).Warn("rate budget", "provider", in.Provider, "model", in.Request.Model, "error", err)
		case wait > 0:
			// No slot yet: the workflow sleeps durably for the wait (a timer, no worker slot held)
			// and calls again; the attempts made so far go with the error.
			return LinkResult{}, temporal.NewApplicationErrorWithOptions(
				(&gateway.BudgetError{Provider: in.Provider, Model: in.Request.Model, Wait: wait}).Error(), gateway.ErrTypeBudget,
				temporal.ApplicationErrorOptions{NextRetryDelay: wait, Details: []any{attempt - 1, reserved}})
		}
	}
	res, err := gateway.CallLink(ctx, a.Providers, in, attempt)
	a.logCall(ctx, in, res, err)
	if err != nil {
		return LinkResult{}, classify(err, attempt)
	}
	return res, nil
}

// classify turns a link failure into a typed application error at the activity boundary, as
// gateway.Classify decides: retryable ones carry the provider's Retry-After as NextRetryDelay.
func classify(err error, attempt int) error {
	if err == nil {
		return nil
	}
	f := gateway.Classify(err, attempt)
	if !f.Retryable {
		return temporal.NewNonRetryableApplicationError(err.Error(), f.Type, nil)
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), f.Type,
		temporal.ApplicationErrorOptions{NextRetryDelay: f.RetryAfter})
}

func (a *Gateway) logCall(ctx context.Context, in LinkCall, res LinkResult, callErr error) {
	if a.Store == nil && a.UsageSink == nil {
		return
	}
	info := activity.GetInfo(ctx)
	c := gateway.UsageRecord(in, res, callErr)
	c.ID = fmt.Sprintf("%s/%s/%s/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID, res.Attempt)
	c.WorkflowID, c.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	// The usage log must not fail the call it describes; a failure to log is visible in the logs.
	if a.Store != nil {
		if err := a.Store.RecordLLMCall(ctx, c); err != nil {
			logger(a.Logger).Error("record LLM call", "id", c.ID, "error", err)
		}
	}
	if a.UsageSink != nil {
		if err := a.UsageSink.Record(ctx, c); err != nil {
			logger(a.Logger).Error("ship LLM call", "id", c.ID, "error", err)
		}
	}
}

// ResolveRole returns the latest version of a role from the store, or the built-in default
// when the store has none.
func (a *Gateway) ResolveRole(ctx context.Context, code string) (roles.Role, error) {
	if a.Store != nil {
		rv, err := a.Store.GetRole(ctx, code, 0)
		switch {
		case err == nil:
			var r roles.Role
			if err := json.Unmarshal(rv.Spec, &r); err != nil {
				return roles.Role{}, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("role %q version %d is corrupt: %v", code, rv.Version, err), "RoleCorrupt", err)
			}
			r.Version = rv.Version
			return roles.ForCall(r, a.Providers), nil
		case !errors.Is(err, store.ErrNotFound):
			return roles.Role{}, fmt.Errorf("load role %q: %w", code, err)
		}
	}
	if r, ok := roles.Default(code); ok {
		return roles.ForCall(r, a.Providers), nil
	}
	return roles.Role{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("role %q not found", code), ErrTypeRoleNotFound, nil)
}

// LinkFailure records why a chain link did not answer.
type LinkFailure = gateway.LinkFailure
