package gateway

import (
	"context"
	"time"

	"github.com/vigil-ops/vigil/llm"
)

// RateStore holds the rate budgets (store.Store's TakeRate).
type RateStore interface {
	TakeRate(ctx context.Context, key string, interval time.Duration, burst int) (time.Duration, error)
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

// Take implements Budget.
func (b *StoreBudget) Take(ctx context.Context, provider, model string) (time.Duration, error) {
	rpm := b.rpm[provider+"/"+model]
	if rpm <= 0 {
		return 0, nil
	}
	return b.store.TakeRate(ctx, BudgetKey(provider, model), time.Minute/time.Duration(rpm), 1)
}
