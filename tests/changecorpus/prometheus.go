package changecorpus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const installHint = "apt-get install -y prometheus"

// Binary finds name ("prometheus" or "promtool") on PATH or in /usr/bin, with an error that says
// how to install it.
func Binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p := filepath.Join("/usr/bin", name); fileExists(p) {
		return p, nil
	}
	return "", fmt.Errorf("changecorpus: %s is not installed: %s", name, installHint)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Backfill turns the OpenMetrics file into TSDB blocks in dataDir with
// `promtool tsdb create-blocks-from openmetrics`. promtool "" looks it up. It passes the (hidden)
// --max-block-duration so the week of data goes into one or two blocks: with the default 2h
// blocks promtool re-reads the whole file once per 2 hours of the span (~90 times).
func Backfill(promtool, omFile, dataDir string) error {
	if promtool == "" {
		p, err := Binary("promtool")
		if err != nil {
			return err
		}
		promtool = p
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
		"--max-block-duration=1000h", omFile, dataDir).CombinedOutput()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return fmt.Errorf("changecorpus: run promtool: %v (%s)", err, installHint)
		}
		return fmt.Errorf("changecorpus: promtool tsdb create-blocks-from openmetrics: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// StartPrometheus starts a real prometheus on a free 127.0.0.1 port over dataDir, with
// `global: {scrape_interval: <scrape>}` and no scrape jobs, 30 days of retention, and waits until
// /-/ready. It returns the base URL and a stop func (kill and wait). Its log is dataDir/../prometheus-<port>.log.
func StartPrometheus(dataDir string, scrape time.Duration) (url string, stop func(), err error) {
	bin, err := Binary("prometheus")
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Dir(filepath.Clean(dataDir))
	cfg := filepath.Join(dir, "prometheus.yml")
	body := fmt.Sprintf("global: {scrape_interval: %ds, evaluation_interval: %ds}\n", int(scrape.Seconds()), int(scrape.Seconds()))
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return "", nil, err
	}
	var lastErr error
	for range 3 { // the free port can be taken between probing and listening: retry
		addr, err := freeAddr()
		if err != nil {
			return "", nil, err
		}
		logPath := filepath.Join(dir, "prometheus-"+strings.ReplaceAll(addr, ":", "_")+".log")
		logf, err := os.Create(logPath)
		if err != nil {
			return "", nil, err
		}
		cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+dataDir,
			"--storage.tsdb.retention.time=30d", "--web.listen-address="+addr)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			return "", nil, fmt.Errorf("changecorpus: start prometheus: %v (%s)", err, installHint)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait(); logf.Close() }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-done
		}
		base := "http://" + addr
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err = waitReady(ctx, base, done)
		cancel()
		if err == nil {
			return base, stop, nil
		}
		stop()
		log, _ := os.ReadFile(logPath)
		lastErr = fmt.Errorf("changecorpus: prometheus did not become ready: %v; log tail: %s", err, tail(string(log), 1500))
	}
	return "", nil, lastErr
}

func waitReady(ctx context.Context, base string, done <-chan error) error {
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := c.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-done:
			return fmt.Errorf("exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Load generates the scenarios at the scrape interval into dir/corpus.om, backfills them into
// dir/data (removing the file afterwards) and starts a Prometheus over the data: the one call an
// accuracy test needs. anchor is truncated to the interval; use the same truncated anchor for
// Finish and Planned.
func Load(dir string, anchor time.Time, scrape time.Duration, scenarios []Scenario) (url string, stop func(), err error) {
	promtool, err := Binary("promtool")
	if err != nil {
		return "", nil, err
	}
	if _, err := Binary("prometheus"); err != nil {
		return "", nil, err
	}
	om := filepath.Join(dir, "corpus.om")
	f, err := os.Create(om)
	if err != nil {
		return "", nil, err
	}
	if err := WriteOpenMetrics(f, anchor, scrape, scenarios); err != nil {
		f.Close()
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		return "", nil, err
	}
	data := filepath.Join(dir, "data")
	if err := Backfill(promtool, om, data); err != nil {
		return "", nil, err
	}
	_ = os.Remove(om)
	return StartPrometheus(data, scrape)
}
