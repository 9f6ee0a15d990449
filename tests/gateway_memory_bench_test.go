package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// rssKB reads this process's resident set size.
func rssKB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkGatewayMemory keeps 64 callers invoking the gateway (the 20 ms upstream, `vigil dev`
// with its embedded Temporal server, all in this process) and prints the process's resident
// memory before the first invoke, after every tenth of the run and at the end: the curve, and
// the growth from the first tenth (after warm-up) to the end. The run is VIGIL_BENCH_MEMORY long
// (default 2m), or, when VIGIL_BENCH_MEMORY_INVOKES is set, that many invokes (the tenths are
// then tenths of the invokes).
//
//	VIGIL_BENCH_MEMORY=3m go test ./tests -run '^$' -bench GatewayMemory -benchtime 1x
//	VIGIL_BENCH_MEMORY_INVOKES=1000000 go test ./tests -run '^$' -bench GatewayMemory -benchtime 1x -timeout 2h
func BenchmarkGatewayMemory(b *testing.B) {
	_, base, _ := gatewayBench(b)
	d := 2 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("VIGIL_BENCH_MEMORY")); err == nil && v > 0 {
		d = v
	}
	target, _ := strconv.ParseInt(os.Getenv("VIGIL_BENCH_MEMORY_INVOKES"), 10, 64)
	httpc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	body := []byte(`{"messages":[{"role":"user","content":"How is checkout-api doing on db-7.payments.example.com?"}]}`)
	for n := 0; n < b.N; n++ {
		var calls, failed atomic.Int64
		start := time.Now()
		stop := start.Add(d)
		more := func() bool {
			if target > 0 {
				return calls.Load() < target
			}
			return time.Now().Before(stop)
		}
		runtime.GC()
		startRSS := rssKB()
		var wg sync.WaitGroup
		for g := 0; g < 64; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for more() {
					resp, err := httpc.Post(base+"/v1/roles/bench/invoke", "application/json", bytes.NewReader(body))
					if err != nil {
						failed.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						failed.Add(1)
					}
					calls.Add(1)
				}
			}()
		}
		curve := []string{fmt.Sprintf("start: %.0f MB", float64(startRSS)/1024)}
		var first, last int64
		for i := 1; i <= 10; i++ {
			if target > 0 {
				for calls.Load() < target*int64(i)/10 {
					time.Sleep(50 * time.Millisecond)
				}
			} else {
				time.Sleep(time.Until(start.Add(d * time.Duration(i) / 10)))
			}
			r := rssKB()
			if i == 1 {
				first = r
			}
			last = r
			curve = append(curve, fmt.Sprintf("%d invokes (%s): %.0f MB", calls.Load(), time.Since(start).Round(time.Second), float64(r)/1024))
		}
		wg.Wait()
		took := time.Since(start)
		b.Logf("RSS over %d invokes in %s (%.0f/s, %d failed; load average %s): %s", calls.Load(), took.Round(time.Second),
			float64(calls.Load())/took.Seconds(), failed.Load(), loadAverage(), strings.Join(curve, ", "))
		b.ReportMetric(float64(calls.Load()), "invokes")
		b.ReportMetric(took.Seconds(), "seconds")
		b.ReportMetric(float64(startRSS)/1024, "rss-start-MB")
		b.ReportMetric(float64(first)/1024, "rss-first-tenth-MB")
		b.ReportMetric(float64(last)/1024, "rss-end-MB")
		b.ReportMetric(100*float64(last-first)/float64(first), "rss-growth-%")
		b.ReportMetric(0, "ns/op")
	}
}

// BenchmarkGatewayStreamTTFB measures the time to the first byte of the answer, streamed: a
// go-openai stream straight from the upstream (its first chunk after 20 ms) beside the same
// through POST /v1/chat/completions with stream: true, one after the other, 200 of each.
//
//	go test ./tests -run '^$' -bench GatewayStreamTTFB -benchtime 1x
func BenchmarkGatewayStreamTTFB(b *testing.B) {
	upstream := llmtest.NewServer(b)
	upstream.SetDefault(llmtest.Reply{Text: "fine, thanks", Chunks: []string{"fine", ", thanks"}, Delay: 20 * time.Millisecond, ChunkDelay: 5 * time.Millisecond})
	_, base := testenv.StartDev(b, testenv.DevConfig(b, func(c *config.Config) {
		c.Providers = []config.Provider{{Name: "local", Type: "openai", BaseURL: upstream.URL,
			Models: []config.Model{{Name: "model-a"}}}}
	}))
	role := `{"code":"bench","name":"Bench","system_message":"Answer.","chain":[{"provider":"local","model":"model-a","attempts":1,"timeout":"10s"}]}`
	resp, err := http.Post(base+"/v1/roles", "application/json", strings.NewReader(role))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("create role: %v", err)
	}
	resp.Body.Close()
	cfg := goopenai.DefaultConfig("")
	cfg.BaseURL = upstream.URL
	direct := goopenai.NewClientWithConfig(cfg)
	directTTFB := func() (time.Duration, error) {
		t0 := time.Now()
		s, err := direct.CreateChatCompletionStream(context.Background(), goopenai.ChatCompletionRequest{Model: "model-a", Stream: true,
			Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "How is checkout-api doing?"}}})
		if err != nil {
			return 0, err
		}
		defer s.Close()
		for {
			r, err := s.Recv()
			if err != nil {
				return 0, err
			}
			if len(r.Choices) > 0 && r.Choices[0].Delta.Content != "" {
				d := time.Since(t0)
				for {
					if _, err := s.Recv(); err != nil {
						return d, nil
					}
				}
			}
		}
	}
	httpc := &http.Client{Timeout: 30 * time.Second}
	viaTTFB := func() (time.Duration, error) {
		t0 := time.Now()
		resp, err := httpc.Post(base+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"bench","stream":true,"messages":[{"role":"user","content":"How is checkout-api doing?"}]}`))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var d time.Duration
		for sc.Scan() {
			if d == 0 && strings.Contains(sc.Text(), `"content":"fine"`) {
				d = time.Since(t0)
			}
		}
		if d == 0 {
			return 0, fmt.Errorf("no content chunk (status %s)", resp.Status)
		}
		return d, nil
	}
	for n := 0; n < b.N; n++ {
		var dl, vl []time.Duration
		for i := 0; i < 200; i++ {
			d, err := directTTFB()
			if err != nil {
				b.Fatal(err)
			}
			v, err := viaTTFB()
			if err != nil {
				b.Fatal(err)
			}
			dl, vl = append(dl, d), append(vl, v)
		}
		b.ReportMetric(ms(pct(dl, 50)), "direct-ttfb-p50-ms")
		b.ReportMetric(ms(pct(vl, 50)), "vigil-ttfb-p50-ms")
		b.ReportMetric(ms(pct(vl, 50)-pct(dl, 50)), "added-ttfb-p50-ms")
		b.ReportMetric(ms(pct(vl, 99)-pct(dl, 99)), "added-ttfb-p99-ms")
		b.ReportMetric(0, "ns/op")
	}
}
