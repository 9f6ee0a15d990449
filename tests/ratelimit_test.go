package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// activityCount sums how many CallLink activities an app's worker executed, from its own
// Prometheus registry (the Temporal SDK's metrics).
func activityCount(t *testing.T, a *app.App) float64 {
	t.Helper()
	mfs, err := a.Metrics.Registry.Gather()
	require.NoError(t, err)
	var n float64
	for _, mf := range mfs {
		if !strings.Contains(mf.GetName(), "activity_execution_latency") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "activity_type" && l.GetValue() == "CallLink" {
					// tally reports timers as summaries, histograms as histograms
					n += float64(m.GetHistogram().GetSampleCount()) + float64(m.GetSummary().GetSampleCount())
				}
			}
		}
	}
	return n
}

// TestTwoWorkersShareOneRPMBudget runs two `vigil worker`s and one `vigil server` against one
// Temporal server. The model's budget is 120 requests a minute; 14 durable runs arrive at once.
// The budget is one row in the store, which both workers take from, so the two together — not
// each of them — stay within 2 calls a second, and both take part. (The synchronous path shares
// the same row: TestTwoServersShareOneRateBudget.)
func TestTwoWorkersShareOneRPMBudget(t *testing.T) {
	upstream := llmtest.NewServer(t)
	temporal := testenv.StartTemporal(t, "")
	dbPath := filepath.Join(t.TempDir(), "vigil.db")
	cfgFor := func() *config.Config {
		cfg := config.Default()
		cfg.Temporal.Address = temporal.FrontendHostPort()
		cfg.HTTP.Address = "127.0.0.1:0"
		cfg.Database.URL = "sqlite:" + dbPath
		cfg.Auth.APIKeys = []config.APIKey{{Client: "rl-test", Org: "acme", KeyHash: config.HashAPIKey("rl-key")}}
		cfg.Providers = []config.Provider{{Name: "local", Type: "openai", BaseURL: upstream.URL,
			Models: []config.Model{{Name: "model-a", RPM: 120}}}}
		return cfg
	}
	start := func(mode app.Mode) *app.App {
		a, err := app.Start(context.Background(), mode, cfgFor(), testenv.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			a.Close(ctx)
		})
		return a
	}
	w1, w2 := start(app.ModeWorker), start(app.ModeWorker)
	srv := start(app.ModeServer)
	base := "http://" + srv.HTTPAddr()
	apiKey = "rl-key"
	t.Cleanup(func() { apiKey = "" })

	code, out, _ := post(t, base+"/v1/roles", []byte(`{"code":"rl","name":"RL","system_message":"Answer.",
	  "chain":[{"provider":"local","model":"model-a","attempts":1,"timeout":"10s"}]}`))
	require.Equal(t, http.StatusCreated, code, string(out))

	const calls = 14
	var wg sync.WaitGroup
	errs := make(chan string, calls)
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, res, raw := invokeRun(t, base, "rl", "")
			if code != http.StatusOK || res.Model != "model-a" {
				errs <- string(raw)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("invoke failed: %s", e)
	}

	reqs := upstream.Requests()
	require.Len(t, reqs, calls)
	span := reqs[len(reqs)-1].Time.Sub(reqs[0].Time)
	rate := float64(calls-1) / span.Seconds()
	t.Logf("%d calls over %v: %.2f calls/s against a budget of 2/s", calls, span.Round(time.Millisecond), rate)
	// Two workers each enforcing the budget on their own would reach ~4/s.
	require.LessOrEqual(t, rate, 2.6, "the two workers together stay within the model's budget")

	// Both workers polled the model's queue and ran calls (SDK metrics are flushed every second).
	// A call that found no slot in the budget is an execution too (it returned at once, and its
	// workflow slept until the slot), so there are at least as many executions as calls.
	var n1, n2 float64
	require.Eventually(t, func() bool {
		n1, n2 = activityCount(t, w1), activityCount(t, w2)
		return n1+n2 >= calls
	}, 5*time.Second, 200*time.Millisecond, "metrics show %v + %v calls", n1, n2)
	require.Positive(t, n1, "worker 1 ran calls")
	require.Positive(t, n2, "worker 2 ran calls")

	var u struct {
		Rows []struct {
			Key   string `json:"key"`
			Calls int64  `json:"calls"`
		} `json:"rows"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/v1/usage?group_by=client", &u))
	require.NotEmpty(t, u.Rows)
	raw, _ := json.Marshal(u.Rows)
	require.Contains(t, string(raw), `"key":"rl-test"`, "usage is attributed to the API key's client")
}
