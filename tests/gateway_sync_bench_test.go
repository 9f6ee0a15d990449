package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// upstreamDelay is how long the benchmarks' upstream takes to answer.
const upstreamDelay = 20 * time.Millisecond

// fixedUpstream is a lean OpenAI-wire upstream: every chat completion is answered with the same
// body after upstreamDelay (llmtest.Server records every request, which a long run cannot afford).
func fixedUpstream(tb testing.TB) string {
	body := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"model-a",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":50,"completion_tokens":5,"total_tokens":55}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(upstreamDelay)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// gatewayBench is a `vigil dev` with one budget-free model behind the 20 ms upstream and a role
// "bench" calling it.
func gatewayBench(b *testing.B) (a *app.App, base, upstream string) {
	upstream = fixedUpstream(b)
	// At warn, as the configuration says: the tests' logger (debug, discarded) would format a
	// line for every request, which a server at warn does not.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, base = testenv.StartDevLogger(b, testenv.DevConfig(b, func(c *config.Config) {
		c.Log.Level = "warn"
		c.Providers = []config.Provider{{Name: "local", Type: "openai", BaseURL: upstream,
			Models: []config.Model{{Name: "model-a"}}}}
	}), logger)
	role := `{"code":"bench","name":"Bench","system_message":"Answer.","chain":[{"provider":"local","model":"model-a","attempts":1,"timeout":"10s"}]}`
	resp, err := http.Post(base+"/v1/roles", "application/json", bytes.NewReader([]byte(role)))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("create role: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	return a, base, upstream
}

// phase runs callers goroutines calling fn for d and returns every latency and how long the
// phase took (until its last call returned).
func phase(callers int, d time.Duration, fn func() error) (lat []time.Duration, took time.Duration, err error) {
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				t0 := time.Now()
				e := fn()
				mine = append(mine, time.Since(t0))
				if e != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = e
					}
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, time.Since(start), firstErr
}

// cpuTime is the CPU time this process and its finished children (the Node load generator) have
// used so far (user and system).
func cpuTime() time.Duration {
	var t time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err == nil {
			t += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return t
}

// phaseRunner runs one phase of callers for d: every latency, and how long it took.
type phaseRunner func(callers int, d time.Duration) ([]time.Duration, time.Duration, error)

// goroutines is the phase of callers goroutines calling fn.
func goroutines(fn func() error) phaseRunner {
	return func(callers int, d time.Duration) ([]time.Duration, time.Duration, error) {
		return phase(callers, d, fn)
	}
}

// nodeLoad is the phase run by the Node load generator (testdata/loadgen/loadgen.mjs) posting
// body to url from callers concurrent loops over keep-alive connections.
func nodeLoad(url string, body []byte) phaseRunner {
	return func(callers int, d time.Duration) ([]time.Duration, time.Duration, error) {
		cmd := exec.Command("node", "testdata/loadgen/loadgen.mjs", url, strconv.Itoa(callers), strconv.FormatInt(d.Milliseconds(), 10), string(body))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, 0, fmt.Errorf("node load generator: %w", err)
		}
		var r struct {
			LatUS      []int64 `json:"lat_us"`
			TookUS     int64   `json:"took_us"`
			Errors     int     `json:"errors"`
			FirstError string  `json:"first_error"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return nil, 0, fmt.Errorf("node load generator: %w", err)
		}
		if r.Errors > 0 {
			return nil, 0, fmt.Errorf("node load generator: %d calls failed, the first: %s", r.Errors, r.FirstError)
		}
		lat := make([]time.Duration, len(r.LatUS))
		for i, us := range r.LatUS {
			lat[i] = time.Duration(us) * time.Microsecond
		}
		return lat, time.Duration(r.TookUS) * time.Microsecond, nil
	}
}

// turns is what alternated measured of one path: every latency, the throughput, and the CPU
// time of the whole process (load generator, upstream, Vigil) per call.
type turns struct {
	lat        []time.Duration
	perSec     float64
	cpuPerCall time.Duration
}

// alternated runs the phases of direct and invoke in turns of slice each, d of each in all (at
// least one turn), so that a change in the machine's load from elsewhere (the 2 cores are shared)
// falls on both alike. onInvoke wraps each invoke turn (a CPU profile).
func alternated(callers int, d, slice time.Duration, direct, invoke phaseRunner, onInvoke func(turn int) func()) (dt, it turns, err error) {
	n := max(1, int(d/slice))
	var dTook, iTook, dCPU, iCPU time.Duration
	for turn := 0; turn < n; turn++ {
		c0 := cpuTime()
		lat, took, err := direct(callers, d/time.Duration(n))
		if err != nil {
			return dt, it, err
		}
		c1 := cpuTime()
		dt.lat, dTook, dCPU = append(dt.lat, lat...), dTook+took, dCPU+c1-c0
		stop := onInvoke(turn)
		lat, took, err = invoke(callers, d/time.Duration(n))
		stop()
		if err != nil {
			return dt, it, err
		}
		it.lat, iTook, iCPU = append(it.lat, lat...), iTook+took, iCPU+cpuTime()-c1
	}
	dt.perSec, it.perSec = float64(len(dt.lat))/dTook.Seconds(), float64(len(it.lat))/iTook.Seconds()
	dt.cpuPerCall, it.cpuPerCall = dCPU/time.Duration(max(1, len(dt.lat))), iCPU/time.Duration(max(1, len(it.lat)))
	return dt, it, nil
}

// profileInvoke starts a CPU profile of one invoke turn when VIGIL_BENCH_CPUPROFILE names a file
// prefix (<prefix>-<callers>-<turn>.prof; `go tool pprof` merges the files it is given):
// -cpuprofile would mix in the start-up and the direct turns. It returns what stops it.
func profileInvoke(b *testing.B, callers, turn int) func() {
	prefix := os.Getenv("VIGIL_BENCH_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s-%d-%d.prof", prefix, callers, turn))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// benchPhase is how long each measured phase runs (VIGIL_BENCH_PHASE, default 5s).
func benchPhase() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("VIGIL_BENCH_PHASE")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

// BenchmarkGatewaySync measures the synchronous gateway against the same call made directly:
// for 1, 8 and 64 callers, direct go-openai calls to the 20 ms upstream and POST
// /v1/roles/bench/invoke through `vigil dev` (HTTP API, role cache, masking, the chain walk, the
// provider call, the batched usage log), VIGIL_BENCH_PHASE of each (default 5s), in alternating
// turns of 1 s (direct, invoke, direct, ...) so that the load of others on the machine falls on
// both alike. The
// load generator (these goroutines), the upstream and Vigil all run in this process, on the same
// cores. It prints throughput (calls/s) of both, their ratio, and the latency invoke adds at p50
// and p99; the CPU time of the whole process per call on each path and their difference (what
// Vigil costs per call: a figure that depends far less than throughput on how busy the shared
// cores are); and how many usage records were waiting for their commit at worst (what a crash at
// that moment would lose). VIGIL_BENCH_CPUPROFILE=/tmp/sync writes a CPU profile of each invoke
// turn alone (/tmp/sync-64-0.prof ... for 64 callers; read them together with
// `go tool pprof -top tests.test /tmp/sync-64-*.prof`). VIGIL_BENCH_LOADGEN=node drives both
// paths from the Node load generator (testdata/loadgen/loadgen.mjs, node's own http client, a
// process per turn) instead of goroutines in this process, as the figures were taken;
// its CPU time counts in the per-call figures.
//
//	go test ./tests -run '^$' -bench GatewaySync -benchtime 1x
//	VIGIL_BENCH_CPUPROFILE=/tmp/sync go test ./tests -run '^$' -bench 'GatewaySync/callers=64' -benchtime 1x
//	VIGIL_BENCH_LOADGEN=node go test ./tests -run '^$' -bench GatewaySync -benchtime 1x
func BenchmarkGatewaySync(b *testing.B) {
	a, base, upstream := gatewayBench(b)
	cfg := goopenai.DefaultConfig("")
	cfg.BaseURL = upstream
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	direct := goopenai.NewClientWithConfig(cfg)
	httpc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
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
	// Warm both paths (connections, caches).
	for i := 0; i < 20; i++ {
		if err := callDirect(); err != nil {
			b.Fatal(err)
		}
		if err := callInvoke(); err != nil {
			b.Fatal(err)
		}
	}
	runDirect, runInvoke := goroutines(callDirect), goroutines(callInvoke)
	if os.Getenv("VIGIL_BENCH_LOADGEN") == "node" {
		if _, err := exec.LookPath("node"); err != nil {
			b.Skip("VIGIL_BENCH_LOADGEN=node needs node on the PATH")
		}
		// The same calls: the upstream's OpenAI request directly, and the invoke.
		runDirect = nodeLoad(upstream+"/chat/completions",
			[]byte(`{"model":"model-a","messages":[{"role":"user","content":"How is checkout-api doing?"}]}`))
		runInvoke = nodeLoad(base+"/v1/roles/bench/invoke", body)
		b.Logf("load generator: node (testdata/loadgen/loadgen.mjs)")
	}
	d := benchPhase()
	for _, callers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				var maxPending atomic.Int64
				done := make(chan struct{})
				go func() { // sample the usage log's backlog
					t := time.NewTicker(time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-done:
							return
						case <-t.C:
							if p := int64(a.GatewayUsage().Pending); p > maxPending.Load() {
								maxPending.Store(p)
							}
						}
					}
				}()
				dt, it, err := alternated(callers, d, time.Second, runDirect, runInvoke,
					func(turn int) func() { return profileInvoke(b, callers, turn) })
				close(done)
				if err != nil {
					b.Fatal(err)
				}
				d50, d99 := pct(dt.lat, 50), pct(dt.lat, 99)
				i50, i99 := pct(it.lat, 50), pct(it.lat, 99)
				b.ReportMetric(dt.perSec, "direct-calls/s")
				b.ReportMetric(it.perSec, "invoke-calls/s")
				b.ReportMetric(it.perSec/dt.perSec, "throughput-ratio")
				b.ReportMetric(ms(d50), "direct-p50-ms")
				b.ReportMetric(ms(i50), "invoke-p50-ms")
				b.ReportMetric(ms(i50-d50), "added-p50-ms")
				b.ReportMetric(ms(i99-d99), "added-p99-ms")
				b.ReportMetric(float64(dt.cpuPerCall.Microseconds()), "direct-cpu-us/call")
				b.ReportMetric(float64(it.cpuPerCall.Microseconds()), "invoke-cpu-us/call")
				b.ReportMetric(float64((it.cpuPerCall - dt.cpuPerCall).Microseconds()), "added-cpu-us/call")
				b.ReportMetric(float64(maxPending.Load()), "usage-backlog-max")
				b.ReportMetric(0, "ns/op")
				b.Logf("load average %s", loadAverage())
			}
		})
	}
	st := a.GatewayUsage()
	b.Logf("usage log: %d records committed in %d batches (largest %d), %d failed, %d dropped",
		st.Committed, st.Batches, st.MaxBatch, st.Failed, st.Dropped)
}

// loadAverage is the machine's load average (1, 5 and 15 minutes), from /proc/loadavg: how busy
// the shared cores were around a figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
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
