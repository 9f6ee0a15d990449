package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// BenchmarkInvokeOverhead measures what the gateway adds: POST /v1/roles/{code}/invoke (HTTP API,
// update-with-start of a RoleInvokeWorkflow, the link activity on the model's task queue, usage
// logging) beside a direct go-openai call to the same local upstream, which answers after a fixed
// 20 ms. Both run alternately in one run; the added latency is invoke minus direct at p50/p99.
//
//	go test ./tests -run '^$' -bench InvokeOverhead -benchtime 200x
func BenchmarkInvokeOverhead(b *testing.B) {
	// budget-free: the model has no RPM budget, its link runs as local activities in the
	// workflow task; budgeted: the link is an activity on the model's rate-limited task queue
	// (a budget far above what the benchmark reaches).
	for _, v := range []struct {
		name string
		rpm  int
	}{{"budget-free", 0}, {"budgeted", 600000}} {
		b.Run(v.name, func(b *testing.B) { benchInvoke(b, v.rpm) })
	}
}

func benchInvoke(b *testing.B, rpm int) {
	upstream := llmtest.NewServer(b)
	upstream.SetDefault(llmtest.Reply{Text: "fine", Delay: 20 * time.Millisecond, PromptTokens: 50, CompletionTokens: 5})
	_, base := testenv.StartDev(b, testenv.DevConfig(b, func(c *config.Config) {
		c.Providers = []config.Provider{{Name: "local", Type: "openai", BaseURL: upstream.URL,
			Models: []config.Model{{Name: "model-a", RPM: rpm}}}}
	}))
	role := `{"code":"bench","name":"Bench","system_message":"Answer.","chain":[{"provider":"local","model":"model-a","attempts":1,"timeout":"10s"}]}`
	resp, err := http.Post(base+"/v1/roles", "application/json", bytes.NewReader([]byte(role)))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("create role: %v %v", err, resp.Status)
	}
	resp.Body.Close()

	cfg := goopenai.DefaultConfig("")
	cfg.BaseURL = upstream.URL
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	direct := goopenai.NewClientWithConfig(cfg)
	httpc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := []byte(`{"messages":[{"role":"user","content":"How is checkout-api doing?"}]}`)

	callDirect := func() error {
		_, err := direct.CreateChatCompletion(context.Background(), goopenai.ChatCompletionRequest{
			Model: "model-a", Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "How is checkout-api doing?"}},
		})
		return err
	}
	callInvoke := func() error {
		resp, err := httpc.Post(base+"/v1/roles/bench/invoke", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("invoke: %s: %s", resp.Status, out)
		}
		return nil
	}
	for _, callers := range []int{1, 32} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			var mu sync.Mutex
			var dLat, iLat []time.Duration
			var firstErr error
			work := make(chan struct{})
			var wg sync.WaitGroup
			for g := 0; g < callers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range work {
						t0 := time.Now()
						err1 := callDirect()
						d := time.Since(t0)
						t1 := time.Now()
						err2 := callInvoke()
						i := time.Since(t1)
						mu.Lock()
						if err := firstErr; err == nil {
							if err1 != nil {
								firstErr = err1
							} else if err2 != nil {
								firstErr = err2
							}
						}
						dLat, iLat = append(dLat, d), append(iLat, i)
						mu.Unlock()
					}
				}()
			}
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			b.StopTimer()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
			d50, d99 := pct(dLat, 50), pct(dLat, 99)
			i50, i99 := pct(iLat, 50), pct(iLat, 99)
			b.ReportMetric(ms(d50), "direct-p50-ms")
			b.ReportMetric(ms(d99), "direct-p99-ms")
			b.ReportMetric(ms(i50), "invoke-p50-ms")
			b.ReportMetric(ms(i99), "invoke-p99-ms")
			b.ReportMetric(ms(i50-d50), "added-p50-ms")
			b.ReportMetric(ms(i99-d99), "added-p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sortDurations(s)
	i := len(s) * p / 100
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}
