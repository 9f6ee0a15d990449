package gateway_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/llm/openai"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
)

func TestClassifyAndWaits(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		attempt   int
		typ       string
		retryable bool
		after     time.Duration
	}{
		{"429 with Retry-After", &llm.ProviderError{Class: llm.ClassRateLimited, Retryable: true, RetryAfter: 2 * time.Second}, 1, gateway.ErrTypeUnavailable, true, 2 * time.Second},
		{"500", &llm.ProviderError{Class: llm.ClassServerError, Retryable: true}, 1, gateway.ErrTypeUnavailable, true, 0},
		{"400", &llm.ProviderError{Class: llm.ClassBadRequest}, 1, gateway.ErrTypeRejected, false, 0},
		{"bad answer, first", gateway.BadAnswerError{Err: errors.New("x")}, 1, gateway.ErrTypeBadAnswer, true, 0},
		{"bad answer, second", gateway.BadAnswerError{Err: errors.New("x")}, 2, gateway.ErrTypeBadAnswer, false, 0},
		{"unknown provider", llm.ErrUnknownProvider, 1, gateway.ErrTypeRejected, false, 0},
		{"budget", &gateway.BudgetError{Wait: time.Second}, 1, gateway.ErrTypeBudget, true, time.Second},
		{"anything else", errors.New("boom"), 1, gateway.ErrTypeUnavailable, true, 0},
	}
	for _, c := range cases {
		f := gateway.Classify(c.err, c.attempt)
		require.Equal(t, c.typ, f.Type, c.name)
		require.Equal(t, c.retryable, f.Retryable, c.name)
		require.Equal(t, c.after, f.RetryAfter, c.name)
	}
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second},
		[]time.Duration{gateway.Backoff(1), gateway.Backoff(2), gateway.Backoff(3), gateway.Backoff(4), gateway.Backoff(5), gateway.Backoff(6), gateway.Backoff(9)})
	require.Equal(t, 5*time.Second, gateway.RetryWait(1, 5*time.Second))
	require.Equal(t, 2*time.Second, gateway.RetryWait(2, 0))
	require.True(t, gateway.Retry(true, 2, 3))
	require.False(t, gateway.Retry(true, 3, 3))
	require.False(t, gateway.Retry(false, 1, 3))
}

// memStore is the part of a store the usage log and reuse use, counting batches.
type memStore struct {
	store.Store
	mu      sync.Mutex
	calls   []store.LLMCall
	batches []int
}

func (m *memStore) RecordLLMCalls(_ context.Context, cs []store.LLMCall) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, cs...)
	m.batches = append(m.batches, len(cs))
	return nil
}

func (m *memStore) RecordLLMCall(ctx context.Context, c store.LLMCall) error {
	return m.RecordLLMCalls(ctx, []store.LLMCall{c})
}

func (m *memStore) ListLLMCalls(context.Context, store.LLMCallFilter) ([]store.LLMCall, error) {
	return nil, nil
}

func (m *memStore) snapshot() ([]store.LLMCall, []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.LLMCall(nil), m.calls...), append([]int(nil), m.batches...)
}

func TestUsageLogGroupCommitsAndFlushesOnClose(t *testing.T) {
	st := &memStore{}
	u := gateway.NewUsageLog(st, nil, 50*time.Millisecond, nil)
	for i := 0; i < 100; i++ {
		u.Record(store.LLMCall{ID: string(rune('a' + i%26))})
	}
	require.Eventually(t, func() bool { c, _ := st.snapshot(); return len(c) == 100 }, 2*time.Second, 5*time.Millisecond)
	_, batches := st.snapshot()
	require.Len(t, batches, 1, "records within the interval are one commit")
	u.Record(store.LLMCall{ID: "last"})
	require.NoError(t, u.Close(context.Background()))
	calls, _ := st.snapshot()
	require.Len(t, calls, 101, "Close commits what is pending")
	u.Record(store.LLMCall{ID: "after"})
	require.Equal(t, uint64(1), u.Stats().Dropped)
}

func TestRoleCacheInvalidation(t *testing.T) {
	version := 1
	loads := 0
	c := &gateway.RoleCache{TTL: time.Hour, Load: func(context.Context, string) (roles.Versioned, error) {
		loads++
		return roles.Versioned{Role: roles.Role{Code: "r"}, Meta: roles.Meta{Version: version}}, nil
	}}
	v, err := c.Get(context.Background(), "r")
	require.NoError(t, err)
	require.Equal(t, 1, v.Role.Version)
	version = 2
	v, _ = c.Get(context.Background(), "r")
	require.Equal(t, 1, v.Role.Version, "served from the cache")
	c.Invalidate("r")
	v, _ = c.Get(context.Background(), "r")
	require.Equal(t, 2, v.Role.Version)
	require.Equal(t, 2, loads)
}

func newGateway(t *testing.T, srv *llmtest.Server) (*gateway.Gateway, *memStore) {
	p, err := openai.New(openai.Config{Name: "local", BaseURL: srv.URL})
	require.NoError(t, err)
	reg := llm.NewRegistry(nil)
	reg.Register("local", p)
	reg.AddModel(llm.ModelInfo{Provider: "local", Model: "m"})
	st := &memStore{}
	u := gateway.NewUsageLog(st, nil, time.Millisecond, nil)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	return &gateway.Gateway{Providers: reg, Store: st, Usage: u}, st
}

func role(interval time.Duration) roles.Role {
	return roles.Role{Code: "r", Version: 3, SystemMessage: "s", RateLimitInterval: roles.Duration(interval),
		Chain: []roles.Link{{Provider: "local", Model: "m", Attempts: 2}}}
}

func TestInvokeMasksAndUnmasks(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.SetHandler(func(r llmtest.Received) llmtest.Reply {
		// The upstream sees tokens only, and quotes them back.
		last := r.Messages[len(r.Messages)-1].Content
		if strings.Contains(last, "db-7.payments.example.com") {
			return llmtest.Text("leaked")
		}
		return llmtest.Text("you said: " + last)
	})
	g, st := newGateway(t, srv)
	msg := "connect to jdbc:mysql://db-7.payments.example.com:3306/orders failed"
	res, err := g.Invoke(context.Background(), gateway.Request{Role: role(0), Client: "c", Messages: []llm.Message{{Role: "user", Content: msg}}})
	require.NoError(t, err)
	require.Equal(t, "you said: "+msg, res.Text)
	require.Equal(t, 3, res.RoleVersion)
	require.Eventually(t, func() bool { c, _ := st.snapshot(); return len(c) == 1 }, time.Second, time.Millisecond)
	calls, _ := st.snapshot()
	require.NotContains(t, string(calls[0].Request), "db-7.payments", "the usage log holds masked text only")
	require.NotContains(t, calls[0].Response, "db-7.payments")
}

func TestInvokeRetriesThenReuses(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.Enqueue(llmtest.Errorf(500, "server_error", "boom"), llmtest.Text("first"), llmtest.Text("second"))
	g, _ := newGateway(t, srv)
	req := gateway.Request{Role: role(time.Minute), Client: "c", Subject: "s", Messages: []llm.Message{{Role: "user", Content: "q"}}}
	res, err := g.Invoke(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, "first", res.Text)
	require.Equal(t, 2, res.Attempts)
	again, err := g.Invoke(context.Background(), req)
	require.NoError(t, err)
	require.True(t, again.Reused)
	require.Equal(t, "first", again.Text)
	require.Equal(t, 2, srv.Count())
	req.Client = "other"
	other, err := g.Invoke(context.Background(), req)
	require.NoError(t, err)
	require.False(t, other.Reused, "another client never gets someone else's answer")
	require.Equal(t, "second", other.Text)
}

func TestCallIDsStartWithTheTime(t *testing.T) {
	srv := llmtest.NewServer(t)
	g, st := newGateway(t, srv)
	req := gateway.Request{Role: role(0), Client: "c", Messages: []llm.Message{{Role: "user", Content: "q"}}}
	a, err := g.Invoke(context.Background(), req)
	require.NoError(t, err)
	b, err := g.Invoke(context.Background(), req)
	require.NoError(t, err)
	require.NotEqual(t, a.CallID, b.CallID)
	for _, id := range []string{a.CallID, b.CallID} {
		require.Regexp(t, `^invoke-`+req.Role.Code+`-[0-9a-f]{24}$`, id)
		// The first 6 bytes are the Unix time in milliseconds, so the usage log's rows of a
		// moment sit together in its indexes.
		ms, err := strconv.ParseUint(id[len(id)-24:len(id)-12], 16, 64)
		require.NoError(t, err)
		require.InDelta(t, time.Now().UnixMilli(), int64(ms), 5000)
	}
	require.Eventually(t, func() bool { c, _ := st.snapshot(); return len(c) == 2 }, time.Second, time.Millisecond)
	calls, _ := st.snapshot()
	require.True(t, strings.HasPrefix(calls[0].ID, calls[0].WorkflowID+"/"), "the record's ID starts with its call's")
}

// countingBudget counts the reservations asked of a budget and remembers their horizons.
type countingBudget struct {
	gateway.Budget
	mu      sync.Mutex
	within  []time.Duration
	refused int
}

func (c *countingBudget) Reserve(ctx context.Context, provider, model string, within time.Duration) (time.Duration, bool, error) {
	var wait time.Duration
	reserved := true
	var err error
	if c.Budget != nil {
		wait, reserved, err = c.Budget.Reserve(ctx, provider, model, within)
	}
	c.mu.Lock()
	c.within = append(c.within, within)
	if !reserved {
		c.refused++
	}
	c.mu.Unlock()
	return wait, reserved, err
}

// Callers that find no free slot each reserve one of their own ahead and call when it comes,
// without asking the budget again: one reservation per call, however many wait together.
func TestInvokeWaitsForItsReservedSlot(t *testing.T) {
	srv := llmtest.NewServer(t)
	g, _ := newGateway(t, srv)
	st, err := store.OpenSQLite(t.Context(), t.TempDir()+"/vigil.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	budget := &countingBudget{Budget: gateway.NewStoreBudget(st, []llm.ModelInfo{{Provider: "local", Model: "m", RPM: 600}})}
	g.Budget, g.MaxWait = budget, time.Minute
	const callers = 6
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := g.Invoke(context.Background(), gateway.Request{Role: role(0), Client: "c", Messages: []llm.Message{{Role: "user", Content: "q"}}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, callers, srv.Count())
	require.Len(t, budget.within, callers, "one reservation per call")
	require.Zero(t, budget.refused)
	for _, w := range budget.within {
		require.InDelta(t, float64(time.Minute), float64(w), float64(5*time.Second), "reserved up to the invoke's wait limit")
	}
}

// An activity reserves ahead only up to its workflow's wait for the link, and the first attempt
// of a call whose slot was reserved takes none; a retry of that call takes one again.
func TestTakeLinkSlot(t *testing.T) {
	b := &countingBudget{}
	in := gateway.LinkCall{Provider: "local", Request: llm.Request{Model: "m"}}
	_, reserved, err := gateway.TakeLinkSlot(context.Background(), b, in, 1)
	require.NoError(t, err)
	require.True(t, reserved)
	in.ReserveUntil = time.Now().Add(10 * time.Minute)
	_, _, _ = gateway.TakeLinkSlot(context.Background(), b, in, 1)
	in.ReserveUntil = time.Now().Add(-time.Minute)
	_, _, _ = gateway.TakeLinkSlot(context.Background(), b, in, 1)
	require.Len(t, b.within, 3)
	require.Zero(t, b.within[0], "no horizon: nothing reserved ahead")
	require.InDelta(t, float64(10*time.Minute), float64(b.within[1]), float64(5*time.Second))
	require.Zero(t, b.within[2], "a horizon already past: nothing reserved ahead")
	in.SlotReserved = true
	_, reserved, err = gateway.TakeLinkSlot(context.Background(), b, in, 1)
	require.NoError(t, err)
	require.True(t, reserved)
	require.Len(t, b.within, 3, "the reserved slot's call takes none")
	_, _, _ = gateway.TakeLinkSlot(context.Background(), b, in, 2)
	require.Len(t, b.within, 4, "its retry takes one")
}
