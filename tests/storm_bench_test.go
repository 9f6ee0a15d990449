package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/starter"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkAlertStorm posts 10,000 Alertmanager deliveries (one alert each) over 100 groups, as
// fast as the webhook takes them from 32 senders, and reports how many were accepted per second,
// how many LLM calls they caused (target: one per group) and whether every alert reached its
// incident. Beside it, in the same run and on the same server, the rate of bare signal-with-start
// calls (to an open workflow that ignores them) from the same 32 senders.
//
//	go test ./tests -run '^$' -bench AlertStorm -benchtime 1x
//
// STORM_ALERTS and STORM_GROUPS change the sizes.
func BenchmarkAlertStorm(b *testing.B) {
	alerts, groups := envInt("STORM_ALERTS", 10000), envInt("STORM_GROUPS", 100)
	const senders = 32
	upstream := llmtest.NewServer(b)
	upstream.SetHandler(func(llmtest.Received) llmtest.Reply {
		return llmtest.Text("[Summary]\nError storm.\n\n[Transaction]\n- n/a\n\n[Profile analysis]\n- Many pods fail.\n\n[Action plan]\n1. Roll back.\n")
	})
	a, base := testenv.StartDev(b, testenv.DevConfig(b, func(c *config.Config) {
		c.Alerts.GroupWindow = 2 * time.Second
		c.Providers = []config.Provider{{Name: "local", Type: "openai", BaseURL: upstream.URL,
			Models: []config.Model{{Name: "model-a"}}}}
	}))
	role := `{"code":"alert-analyst","name":"Alert analyst","system_message":"Write the report.",
	  "chain":[{"provider":"local","model":"model-a","attempts":2,"timeout":"10s"},{"provider":"builtin","model":"analyst"}]}`
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/roles/alert-analyst", bytes.NewReader([]byte(role)))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("role: %v", err)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	payload := func(i int) []byte {
		g := i % groups
		body, _ := json.Marshal(map[string]any{
			"version": "4", "groupKey": fmt.Sprintf(`{}:{alertname="Storm%d"}`, g), "status": "firing",
			"alerts": []map[string]any{{
				"status": "firing", "fingerprint": fmt.Sprintf("fp-%d", i), "startsAt": "2026-11-26T09:00:00Z",
				"labels":      map[string]string{"alertname": fmt.Sprintf("Storm%d", g), "application": "app", "instance": fmt.Sprintf("pod-%d", i)},
				"annotations": map[string]string{"summary": "error rate"},
			}},
		})
		return body
	}
	run := func(n int, send func(i int) error) (time.Duration, int64) {
		var failed int64
		work := make(chan int)
		var wg sync.WaitGroup
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					if send(i) != nil {
						atomic.AddInt64(&failed, 1)
					}
				}
			}()
		}
		start := time.Now()
		for i := 0; i < n; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		return time.Since(start), failed
	}

	b.ResetTimer()
	stormTime, stormFailed := run(alerts, func(i int) error {
		resp, err := hc.Post(base+"/v1/alerts/alertmanager", "application/json", bytes.NewReader(payload(i)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	// Bare signal-with-start on the same server: open workflows that ignore the signal.
	bareTime, bareFailed := run(alerts, func(i int) error {
		_, err := a.Client.SignalWithStartWorkflow(context.Background(), fmt.Sprintf("bare-%d", i%groups), "ping", i,
			client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, workflows.ProbeWorkflow,
			workflows.ProbeInput{Sleep: time.Hour, Message: "bare"})
		return err
	})
	b.StopTimer()

	// Wait until every group's incident has its report and holds all of its alerts.
	deadline := time.Now().Add(5 * time.Minute)
	var folded, reports int
	for time.Now().Before(deadline) {
		folded, reports = 0, 0
		list, err := a.Store.ListIncidents(context.Background(), store.IncidentFilter{Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		for _, in := range list {
			if in.Report != "" {
				reports++
			}
			var d struct {
				Group []json.RawMessage `json:"group"`
			}
			_ = json.Unmarshal(in.Details, &d)
			folded += len(d.Group)
		}
		if reports == groups && folded == alerts {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.ReportMetric(float64(alerts)/stormTime.Seconds(), "accepted/s")
	b.ReportMetric(float64(alerts)/bareTime.Seconds(), "bare-signal-with-start/s")
	b.ReportMetric(float64(stormFailed), "rejected")
	b.ReportMetric(float64(bareFailed), "bare-failed")
	b.ReportMetric(float64(upstream.Count()), "llm-calls")
	b.ReportMetric(float64(groups), "groups")
	b.ReportMetric(float64(reports), "reports")
	b.ReportMetric(float64(alerts-folded), "alerts-lost")
	b.ReportMetric(0, "ns/op")
	_ = starter.DefaultGroupWindow
}
