package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
)

// A budgeted link whose model has no free slot: the activity reserves the next one and says how
// long until it; the workflow sleeps that long and calls again saying the slot is reserved, so
// the call goes without taking another (calls refused together would otherwise come back
// together and collide). Every call carries the end of the workflow's wait for the link.
func TestBudgetedLinkSleepsUntilItsReservedSlot(t *testing.T) {
	env, acts := newEnv(t)
	var calls []activities.LinkCall
	env.OnActivity(acts.MaskTexts, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MaskRequest) (activities.MaskResult, error) {
		return activities.MaskResult{Texts: in.Texts, Vault: in.Vault}, nil
	})
	env.OnActivity(acts.CallLink, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.LinkCall) (activities.LinkResult, error) {
		calls = append(calls, in)
		if !in.SlotReserved {
			return activities.LinkResult{}, temporal.NewApplicationErrorWithOptions("no slot", gateway.ErrTypeBudget,
				temporal.ApplicationErrorOptions{NextRetryDelay: 90 * time.Second, Details: []any{0, true}})
		}
		return activities.LinkResult{Text: "in my slot", Provider: in.Provider, Model: in.Request.Model, Attempt: 1}, nil
	})
	role := roles.Role{Code: "r1", SystemMessage: "s", Chain: []roles.Link{{Provider: "local", Model: "m", Attempts: 2}}}
	start := env.Now()
	env.ExecuteWorkflow(RoleCallWorkflow, RoleCallInput{Role: role, Messages: []llm.Message{{Role: "user", Content: "hi"}}})
	require.NoError(t, env.GetWorkflowError())
	var res RoleCallResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "in my slot", res.Text)
	require.Len(t, calls, 2)
	require.False(t, calls[0].SlotReserved)
	require.True(t, calls[1].SlotReserved, "the second call goes in the slot the first reserved")
	require.Zero(t, calls[1].AttemptsBefore)
	for _, c := range calls {
		require.WithinDuration(t, start.Add(LinkQueueWait), c.ReserveUntil, time.Second)
	}
	require.GreaterOrEqual(t, env.Now().Sub(start), 90*time.Second, "the workflow slept until the slot on a timer")
}
