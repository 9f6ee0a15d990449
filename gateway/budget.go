package gateway

import (
	"context"
	"time"

	"github.com/vigil-ops/vigil/llm"
)

// RateStore holds the rate budgets (store.Store's ReserveRate).
type RateStore interface {
	ReserveRate(ctx context.Context, key string, interval time.Duration, burst int, within time.Duration) (time.Duration, bool, error)
}

// StoreBudget is the models' shared rate budget, held in the store: one GCRA row per provider
// model with an rpm (a slot every minute/rpm, one at a time), so every replica and both call
// paths take from the same bucket. Models without an rpm have no budget.
type StoreBudget struct {
	store RateStore
	rpm   map[string]int
}

// NewStoreBudget returns the budget of the models that declare an rpm.
func NewStoreBudget(st RateStore, models []llm.ModelInfo) *StoreBudget {
	b := &StoreBudget{store: st, rpm: map[string]int{}}
	for _, m := range models {
		if m.RPM > 0 {
			b.rpm[m.Provider+"/"+m.Model] = m.RPM
		}
	}
	return b
}

// BudgetKey names a model's rate budget in the store.
func BudgetKey(provider, model string) string { return "llm/" + provider + "/" + model }

// Reserve implements Budget.
func (b *StoreBudget) Reserve(ctx context.Context, provider, model string, within time.Duration) (time.Duration, bool, error) {
	rpm := b.rpm[provider+"/"+model]
	if rpm <= 0 {
		return 0, true, nil
	}
	return b.store.ReserveRate(ctx, BudgetKey(provider, model), time.Minute/time.Duration(rpm), 1, within)
}

// TakeLinkSlot takes the slot of one attempt of a link called as an activity (activityAttempt:
// the activity's own attempt number) from its model's budget. The first attempt of a call whose
// slot an earlier one reserved (in.SlotReserved) goes without taking. Otherwise a free slot is
// taken (wait 0); when none is, the next one is reserved if it comes before in.ReserveUntil
// (wait > 0, reserved: the workflow sleeps the wait and calls again with SlotReserved, so that
// calls refused together do not come back together and collide again); else nothing is taken
// (wait > 0, not reserved). A call that sleeps durably and gives up (its workflow cancelled)
// wastes its slot.
func TakeLinkSlot(ctx context.Context, b Budget, in LinkCall, activityAttempt int32) (wait time.Duration, reserved bool, err error) {
	if in.SlotReserved && activityAttempt <= 1 {
		return 0, true, nil
	}
	var within time.Duration
	if !in.ReserveUntil.IsZero() {
		within = max(0, time.Until(in.ReserveUntil))
	}
	return b.Reserve(ctx, in.Provider, in.Request.Model, within)
}
