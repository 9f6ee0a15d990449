package tests

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/promsource"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// BenchmarkCheckpoint20Apps times one checkpoint's data work — 20 applications × the 8 default
// metric templates (throughput, 5xx ratio, p50, p90, p95, error and fatal logs, firing alerts) ×
// the window and 2 baselines, and the hour before the change with its 2 baselines = 960 range queries, against a real Prometheus holding 8 days of
// 5-minute history — then the comparison engine over the result; and, apart, the enrichment of
// a verdict naming every kind for all 20 applications.
//
//	go test ./tests -run '^$' -bench Checkpoint20Apps -benchtime 5x
func BenchmarkCheckpoint20Apps(b *testing.B) {
	promBin, promtool := "prometheus", "promtool"
	dir := b.TempDir()
	now := time.Now().UTC().Truncate(time.Minute)
	om := filepath.Join(dir, "h.om")
	f, err := os.Create(om)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "# TYPE http_server_request_duration_seconds histogram")
	les := []float64{0.1, 0.5, 1}
	apps := 20
	cum := make([][]float64, apps)
	for i := range cum {
		cum[i] = make([]float64, len(les)+1)
	}
	for ts := now.Add(-8*24*time.Hour - time.Hour); ts.Before(now.Add(-time.Hour)); ts = ts.Add(5 * time.Minute) {
		rps := 50 * (1 + 0.5*math.Sin(2*math.Pi*float64(ts.Unix()%86400)/86400))
		for a := 0; a < apps; a++ {
			n := rps * 300
			for i, le := range les {
				cum[a][i] += n * le / (le + 0.08)
				fmt.Fprintf(w, "http_server_request_duration_seconds_bucket{service_name=\"app-%d\",http_response_status_code=\"200\",le=\"%g\"} %.1f %d\n", a, le, cum[a][i], ts.Unix())
			}
			cum[a][len(les)] += n
			fmt.Fprintf(w, "http_server_request_duration_seconds_bucket{service_name=\"app-%d\",http_response_status_code=\"200\",le=\"+Inf\"} %.1f %d\n", a, cum[a][len(les)], ts.Unix())
			fmt.Fprintf(w, "http_server_request_duration_seconds_count{service_name=\"app-%d\",http_response_status_code=\"200\"} %.1f %d\n", a, cum[a][len(les)], ts.Unix())
		}
	}
	fmt.Fprintln(w, "# EOF")
	_ = w.Flush()
	_ = f.Close()
	data := filepath.Join(dir, "tsdb")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		b.Fatalf("promtool: %v %s", err, out)
	}
	addr := testenv.FreeAddr(b)
	cfg := filepath.Join(dir, "p.yml")
	_ = os.WriteFile(cfg, []byte("global: {scrape_interval: 1m}\n"), 0o644)
	cmd := exec.Command(promBin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=30d", "--web.listen-address="+addr)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 300 {
			b.Fatal("prometheus did not start")
		}
		time.Sleep(200 * time.Millisecond)
	}
	pc, err := promsource.New("http://"+addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	from, to := now.Add(-2*time.Hour), now.Add(-time.Hour)
	b.ResetTimer()
	var findings int
	for n := 0; n < b.N; n++ {
		findings = 0
		for a := 0; a < apps; a++ {
			// A check after a change at from: the window, its two baselines, and the hour before
			// the change with its own two baselines (6 range queries per template).
			ms, err := pc.MetricsBefore(context.Background(), fmt.Sprintf("app-%d", a), from, to, from, promsource.DefaultQueries())
			if err != nil {
				b.Fatal(err)
			}
			findings += len(compare.CompareAll(ms, compare.DefaultOptions()))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/checkpoint")
	b.ReportMetric(float64(findings), "findings/checkpoint")
	b.ReportMetric(0, "ns/op")

	// The enrichment of a verdict that names every kind for all 20 applications: the 4 default
	// tables (3 instant queries each) and the series of 3 degraded metrics around the change.
	b.StopTimer()
	enrichStart := time.Now()
	for n := 0; n < b.N; n++ {
		for a := 0; a < apps; a++ {
			app := fmt.Sprintf("app-%d", a)
			for _, q := range promsource.DefaultEnrichQueries() {
				if _, err := pc.Table(context.Background(), q, app, from, to); err != nil {
					b.Fatal(err)
				}
			}
			for _, q := range promsource.DefaultQueries()[2:5] { // p50, p90, p95
				if _, err := pc.Around(context.Background(), q, app, from.Add(-time.Hour), to, 24); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(time.Since(enrichStart).Milliseconds())/float64(b.N), "ms/enrichment-of-20-apps")
}

// BenchmarkWaitingDeployments measures the heap of a `vigil dev` process (embedded server, worker
// with its workflow cache, API) before and after 1,000 deployments start and wait on their gate
// timers (planned a day ahead).
//
//	go test ./tests -run '^$' -bench WaitingDeployments -benchtime 1x
func BenchmarkWaitingDeployments(b *testing.B) {
	a, _ := testenv.StartDev(b, testenv.DevConfig(b, nil))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const n = 1000
	planned := time.Now().Add(24 * time.Hour)
	start := time.Now()
	for i := 0; i < n; i++ {
		_, err := a.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("deploy-bench-%d", i), TaskQueue: workflows.TaskQueue,
		}, workflows.ChangeTrackingWorkflow, workflows.ChangeInput{Deployment: change.Deployment{
			ID: fmt.Sprintf("bench-%d", i), PlannedAt: planned, Applications: []change.Application{{ID: "a", Name: "app"}}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Wait until every workflow has run its first task and sleeps on its timer.
	for {
		resp, err := a.Client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: "WorkflowType = 'ChangeTrackingWorkflow' AND VigilState = 'scheduled'"})
		if err == nil && resp.GetCount() >= n {
			// ... and has stored its first record.
			if list, err := a.Store.ListDeployments(context.Background(), store.DeploymentFilter{Limit: 2 * n}); err == nil && len(list) >= n {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	started := time.Since(start)
	after := heap()
	b.ReportMetric(float64(after-before)/(1<<20), "heap-MB-for-1000")
	b.ReportMetric(float64(after-before)/n/1024, "heap-KB-per-deployment")
	b.ReportMetric(float64(n)/started.Seconds(), "started/s")
	b.ReportMetric(0, "ns/op")
}
