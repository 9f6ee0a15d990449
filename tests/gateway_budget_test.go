package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// TestTwoServersShareOneRateBudget runs two `vigil server`s (two app instances in this process,
// joined only by PostgreSQL and Temporal) with a model whose budget is 120 requests a minute,
// and keeps 8 callers per server invoking synchronously for VIGIL_TEST_BUDGET_WINDOW (default
// 20s, to keep CI short; the figure is over a minute). The budget is one GCRA row in the
// store, so the two together make at most 2 calls a second, not 4, and the excess calls wait
// their turn instead of failing.
//
//	VIGIL_TEST_BUDGET_WINDOW=60s go test ./tests -run TestTwoServersShareOneRateBudget -v
func TestTwoServersShareOneRateBudget(t *testing.T) {
	ctx := context.Background()
	dbURL, _, _ := testenv.PostgresSchema(t, "vigil_budget_test")
	upstream := llmtest.NewServer(t)
	temporal := testenv.StartTemporal(t, "")
	start := func() string {
		cfg := config.Default()
		cfg.Temporal.Address = temporal.FrontendHostPort()
		cfg.HTTP.Address = "127.0.0.1:0"
		cfg.Database.URL = dbURL
		cfg.Auth.APIKeys = []config.APIKey{{Client: "budget-test", Org: "acme", KeyHash: config.HashAPIKey("budget-key")}}
		cfg.Providers = []config.Provider{{Name: "local", Type: "openai", BaseURL: upstream.URL,
			Models: []config.Model{{Name: "model-a", RPM: 120}}}}
		a, err := app.Start(ctx, app.ModeServer, cfg, testenv.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			a.Close(cctx)
		})
		return "http://" + a.HTTPAddr()
	}
	bases := []string{start(), start()}
	apiKey = "budget-key"
	t.Cleanup(func() { apiKey = "" })
	code, out, _ := post(t, bases[0]+"/v1/roles", []byte(`{"code":"budget","name":"Budget","system_message":"Answer.",
	  "chain":[{"provider":"local","model":"model-a","attempts":1,"timeout":"10s"}]}`))
	require.Equal(t, http.StatusCreated, code, string(out))

	window := 20 * time.Second
	if d, err := time.ParseDuration(os.Getenv("VIGIL_TEST_BUDGET_WINDOW")); err == nil && d > 0 {
		window = d
	}
	stop := time.Now().Add(window)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	answered := map[string]int{}
	var took []time.Duration
	for _, base := range bases {
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					t0 := time.Now()
					code, _, raw := invoke(t, base, "budget", "")
					mu.Lock()
					if code != http.StatusOK {
						failures = append(failures, fmt.Sprintf("%d %s", code, raw))
					} else {
						answered[base]++
						took = append(took, time.Since(t0))
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("the answered calls waited their turn: %s at p50, %s at most (gateway.max_wait: 30s)",
		pct(took, 50).Round(time.Millisecond), pct(took, 100).Round(time.Millisecond))
	require.Empty(t, failures, "excess calls wait for the budget instead of failing")
	reqs := upstream.Requests()
	first := reqs[0].Time
	n := 0
	for _, r := range reqs {
		if r.Time.Sub(first) < window {
			n++
		}
	}
	rate := float64(n) / window.Seconds()
	t.Logf("%d upstream calls in the first %s (%.2f/s against a budget of 2/s); answered per server: %v; %d calls in all",
		n, window, rate, answered, len(reqs))
	require.LessOrEqual(t, rate, 2.1, "the two servers together stay within the model's budget")
	for _, base := range bases {
		require.Positive(t, answered[base], "both servers made calls")
	}
}
