package gateway

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ops/vigil/store"
)

// DefaultBatchInterval is how long the usage log gathers records before one group commit.
const DefaultBatchInterval = 5 * time.Millisecond

// DefaultMaxPending bounds the records waiting for a commit; beyond it records are dropped and
// counted (the store is down or far too slow).
const DefaultMaxPending = 65536

// BatchRecorder is a store that writes many usage records in one transaction.
type BatchRecorder interface {
	RecordLLMCalls(ctx context.Context, cs []store.LLMCall) error
}

// Sink receives usage records besides the store (usagelog's Elasticsearch bulk indexer, which
// batches on its own).
type Sink interface {
	Record(ctx context.Context, c store.LLMCall) error
}

// UsageLog writes the synchronous path's usage records in batches: the first record after an
// idle spell starts a batch, every record that arrives within Interval joins it, and the batch is
// committed to the store in one transaction (when the store is a BatchRecorder) and handed to
// the sink. A call's answer never waits for its record. Close commits what is pending.
//
// What a crash can lose: the records of the batch being gathered and of the commit in flight —
// at most the calls answered in the last Interval plus one commit's duration (measured in
// docs/benchmarks.md) — and whatever the sink still holds (usagelog: up to its flush interval).
// A clean shutdown (Close) loses nothing the store accepts.
type UsageLog struct {
	store    store.Store
	sink     Sink
	log      *slog.Logger
	interval time.Duration
	max      int

	mu      sync.Mutex
	pending []store.LLMCall
	closed  bool
	wake    chan struct{}
	done    chan struct{}

	committed, dropped, failed, batches atomic.Uint64
	maxBatch                            atomic.Int64
}

// UsageStats are the usage log's counters.
type UsageStats struct {
	// Committed records reached the store; Failed ones were refused by it; Dropped ones never
	// reached it (pending records over the bound, or recorded after Close).
	Committed, Failed, Dropped uint64
	// Batches is the number of commits; MaxBatch the largest.
	Batches  uint64
	MaxBatch int64
	// Pending is the number of records waiting now.
	Pending int
}

// NewUsageLog starts a usage log writing to st (may be nil) and sink (may be nil).
// interval <= 0 is DefaultBatchInterval.
func NewUsageLog(st store.Store, sink Sink, interval time.Duration, logger *slog.Logger) *UsageLog {
	if interval <= 0 {
		interval = DefaultBatchInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	u := &UsageLog{store: st, sink: sink, log: logger, interval: interval, max: DefaultMaxPending,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go u.run()
	return u
}

// Record queues one record for the next batch.
func (u *UsageLog) Record(c store.LLMCall) {
	u.mu.Lock()
	if u.closed || len(u.pending) >= u.max {
		u.mu.Unlock()
		u.dropped.Add(1)
		u.log.Error("usage record dropped", "id", c.ID, "closed", u.closed)
		return
	}
	u.pending = append(u.pending, c)
	if len(u.pending) == 1 {
		select { // under mu: Close cannot have closed wake
		case u.wake <- struct{}{}:
		default:
		}
	}
	u.mu.Unlock()
}

func (u *UsageLog) run() {
	defer close(u.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		_, ok := <-u.wake
		if ok {
			// Gather: every record of the next Interval joins this batch.
			timer.Reset(u.interval)
			select {
			case <-timer.C:
			case _, ok = <-u.wake: // closed: commit now and stop
				timer.Stop()
			}
		}
		u.mu.Lock()
		batch := u.pending
		u.pending = nil
		u.mu.Unlock()
		u.commit(batch)
		if !ok {
			return
		}
	}
}

func (u *UsageLog) commit(batch []store.LLMCall) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u.batches.Add(1)
	if int64(len(batch)) > u.maxBatch.Load() {
		u.maxBatch.Store(int64(len(batch)))
	}
	if u.store != nil {
		var err error
		if br, ok := u.store.(BatchRecorder); ok {
			err = br.RecordLLMCalls(ctx, batch)
		} else {
			for _, c := range batch {
				err = errors.Join(err, u.store.RecordLLMCall(ctx, c))
			}
		}
		if err != nil {
			u.failed.Add(uint64(len(batch)))
			u.log.Error("record LLM calls", "records", len(batch), "error", err)
		} else {
			u.committed.Add(uint64(len(batch)))
		}
	}
	if u.sink != nil {
		for _, c := range batch {
			if err := u.sink.Record(ctx, c); err != nil {
				u.log.Error("ship LLM call", "id", c.ID, "error", err)
			}
		}
	}
}

// Close commits every pending record and stops; records after Close are dropped. It returns
// ctx's error when the last commit does not finish in time.
func (u *UsageLog) Close(ctx context.Context) error {
	u.mu.Lock()
	if !u.closed {
		u.closed = true
		close(u.wake)
	}
	u.mu.Unlock()
	select {
	case <-u.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the usage log's counters.
func (u *UsageLog) Stats() UsageStats {
	u.mu.Lock()
	n := len(u.pending)
	u.mu.Unlock()
	return UsageStats{Committed: u.committed.Load(), Failed: u.failed.Load(), Dropped: u.dropped.Load(),
		Batches: u.batches.Load(), MaxBatch: u.maxBatch.Load(), Pending: n}
}
