package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/devserver"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/worker"
	"github.com/vigil-ops/vigil/workflows"
)

// benchVariant is one configuration of the embedded server and the SDK.
type benchVariant struct {
	name       string
	fileDB     bool           // SQLite file (as vigil dev) instead of in-memory SQLite
	eagerStart bool           // client.StartWorkflowOptions.EnableEagerStart
	eagerActs  bool           // worker eager activity dispatch
	dynamic    map[string]any // server dynamic config
	pragmas    map[string]string
}

// stockDynamic and stockPragmas undo devserver's tuning: the server's own defaults (4 task-queue
// partitions, history queues polled 20 times a second, 20 s history long polls) and SQLite
// synchronous=FULL.
var (
	stockDynamic = map[string]any{
		"matching.numTaskqueueReadPartitions": 4, "matching.numTaskqueueWritePartitions": 4,
		"history.transferProcessorMaxPollRPS": 20, "history.timerProcessorMaxPollRPS": 20,
		"history.visibilityProcessorMaxPollRPS": 20, "history.outboundProcessorMaxPollRPS": 20,
		"history.longPollExpirationInterval": 20 * time.Second,
	}
	stockPragmas = map[string]string{"synchronous": "2"}
)

var benchVariants = []benchVariant{
	{name: "file/stock/no-eager", fileDB: true, dynamic: stockDynamic, pragmas: stockPragmas},
	{name: "file/stock/eager", fileDB: true, eagerStart: true, eagerActs: true, dynamic: stockDynamic, pragmas: stockPragmas},
	{name: "file/tuned/eager", fileDB: true, eagerStart: true, eagerActs: true}, // what vigil dev runs
	{name: "memory/tuned/eager", eagerStart: true, eagerActs: true},
}

// BenchmarkIncidentVsProbe runs the skeleton's IncidentWorkflow (record, analyse, resolve role,
// child role call through the built-in analyst, store) beside a bare one-activity workflow on the
// same embedded server, alternately, and reports each one's p50/p95 latency, throughput and the
// latency ratio. Sequential runs one workflow at a time; concurrent keeps 16 in flight.
//
//	go test ./tests -run '^$' -bench IncidentVsProbe -benchtime 40x
func BenchmarkIncidentVsProbe(b *testing.B) {
	for _, v := range benchVariants {
		b.Run(v.name, func(b *testing.B) {
			c, eager := benchSetup(b, v)
			b.Run("sequential", func(b *testing.B) { runPairs(b, c, eager, 1) })
			b.Run("concurrent16", func(b *testing.B) { runPairs(b, c, eager, 16) })
		})
	}
}

func benchSetup(b *testing.B, v benchVariant) (client.Client, bool) {
	ctx := context.Background()
	dir := b.TempDir()
	o := devserver.Options{Address: "127.0.0.1:0", SearchAttributes: workflows.SearchAttributes(),
		Logger: testenv.Logger(b), DynamicConfig: v.dynamic, SQLitePragmas: v.pragmas}
	if v.fileDB {
		o.DatabaseFile = filepath.Join(dir, "temporal.db")
	}
	srv, err := devserver.Start(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Stop() })
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	c, err := srv.NewClient(client.Options{Logger: quietSDKLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	logger := testenv.Logger(b)
	w := worker.New(c, worker.Activities{
		Gateway:  &activities.Gateway{Store: st, Providers: llm.NewRegistry(app.BuiltinAnalyst()), Logger: logger},
		Incident: &activities.Incident{Store: st},
		Change:   &activities.Change{Store: st, Logger: logger},
		Delivery: &activities.Delivery{Store: st, Logger: logger},
		OnCall:   &activities.OnCall{Store: st},
		Tuning:   &activities.Tuning{Store: st},
	}, worker.Options{DisableEagerActivities: !v.eagerActs})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	return c, v.eagerStart
}

var benchSeq struct {
	sync.Mutex
	n int64
}

func nextAlert(b *testing.B) profile.Alert {
	raw, _ := profile.Example("slow-sql")
	a, err := profile.ParseAlert(raw)
	if err != nil {
		b.Fatal(err)
	}
	benchSeq.Lock()
	benchSeq.n++
	n := benchSeq.n
	benchSeq.Unlock()
	a.StartsAt = a.StartsAt.Add(time.Duration(n) * time.Second) // a new identity each time
	a.EndsAt = time.Time{}
	return *a
}

func runPairs(b *testing.B, c client.Client, eager bool, inFlight int) {
	ctx := context.Background()
	var mu sync.Mutex
	var incLat, probeLat []time.Duration
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	for g := 0; g < inFlight; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				alert := nextAlert(b)
				t0 := time.Now()
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: workflows.IncidentWorkflowID(&alert), TaskQueue: workflows.TaskQueue, EnableEagerStart: eager,
				}, workflows.IncidentWorkflow, workflows.IncidentInput{Alert: alert, Client: "bench"})
				if err == nil {
					err = run.Get(ctx, nil)
				}
				d1 := time.Since(t0)
				t1 := time.Now()
				prun, perr := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: fmt.Sprintf("probe-%d-%d", time.Now().UnixNano(), i), TaskQueue: workflows.TaskQueue, EnableEagerStart: eager,
				}, workflows.ProbeWorkflow, workflows.ProbeInput{Message: "bench"})
				if perr == nil {
					perr = prun.Get(ctx, nil)
				}
				d2 := time.Since(t1)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if perr != nil && firstErr == nil {
					firstErr = perr
				}
				incLat, probeLat = append(incLat, d1), append(probeLat, d2)
				mu.Unlock()
			}
		}()
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	ip50, ip95 := percentiles(incLat)
	pp50, pp95 := percentiles(probeLat)
	// Each iteration runs one incident and one probe workflow: workflows/s is twice pairs/s.
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pairs/s")
	b.ReportMetric(ms(slices.Max(incLat)), "incident-max-ms")
	b.ReportMetric(ms(slices.Max(probeLat)), "probe-max-ms")
	b.ReportMetric(ms(ip50), "incident-p50-ms")
	b.ReportMetric(ms(ip95), "incident-p95-ms")
	b.ReportMetric(ms(pp50), "probe-p50-ms")
	b.ReportMetric(ms(pp95), "probe-p95-ms")
	b.ReportMetric(ms(ip50)/ms(pp50), "p50-ratio")
	b.ReportMetric(0, "ns/op")
}

func percentiles(d []time.Duration) (p50, p95 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[(len(s)*95)/100]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type quietSDKLogger struct{}

func (quietSDKLogger) Debug(string, ...any) {}
func (quietSDKLogger) Info(string, ...any)  {}
func (quietSDKLogger) Warn(string, ...any)  {}
func (quietSDKLogger) Error(string, ...any) {}

func sortDurations(s []time.Duration) { sort.Slice(s, func(i, j int) bool { return s[i] < s[j] }) }
