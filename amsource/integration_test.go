package amsource

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// alertmanagerBinary finds Alertmanager: upstream calls it alertmanager, Debian's
// prometheus-alertmanager package prometheus-alertmanager.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("alertmanager binary not found: apt-get install -y prometheus-alertmanager")
	return ""
}

// startAlertmanager runs a single-node Alertmanager on a free loopback port until the test ends
// and returns its base URL.
func startAlertmanager(t *testing.T) string {
	bin := alertmanagerBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o600))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // no gossip: single node, no second port
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("alertmanager exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready after 20 s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func postJSON(t *testing.T, url string, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s: %s", url, out.String())
	return out.Bytes()
}

func TestAlertmanagerIntegration(t *testing.T) {
	base := startAlertmanager(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	weird := `we"ird\app` + "\nline2" // quoting must survive Alertmanager's matcher parser
	type postable struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations,omitempty"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
	}
	postJSON(t, base+"/api/v2/alerts", []postable{
		{Labels: map[string]string{"alertname": "HighErrorRate", "application": "checkout-api", "severity": "critical"},
			Annotations: map[string]string{"summary": "High error rate"}, StartsAt: now.Add(-5 * time.Minute),
			EndsAt: now.Add(time.Hour), GeneratorURL: "http://prometheus:9090/graph"},
		{Labels: map[string]string{"alertname": "HighLatency", "application": "checkout-api"},
			Annotations: map[string]string{"description": "p95 above 2s"}, StartsAt: now.Add(-10 * time.Minute),
			EndsAt: now.Add(time.Hour), GeneratorURL: "http://prometheus:9090/graph"},
		{Labels: map[string]string{"alertname": "Other", "application": "billing"},
			StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), GeneratorURL: "http://prometheus:9090/graph"},
		{Labels: map[string]string{"alertname": "Weird", "application": weird},
			StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), GeneratorURL: "http://prometheus:9090/graph"},
	})
	// Silence HighLatency: it must still be listed, as suppressed.
	postJSON(t, base+"/api/v2/silences", map[string]any{
		"matchers":  []map[string]any{{"name": "alertname", "value": "HighLatency", "isRegex": false, "isEqual": true}},
		"startsAt":  now.Add(-time.Minute),
		"endsAt":    now.Add(time.Hour),
		"createdBy": "amsource test",
		"comment":   "integration test",
	})

	c, err := New(base, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var got []Alert
	for {
		got, err = c.Alerts(ctx, map[string]string{"application": "checkout-api"})
		require.NoError(t, err)
		if len(got) == 2 && got[0].State == "suppressed" && got[1].State == "active" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("alerts never became suppressed+active: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, "HighLatency", got[0].Name, "oldest first")
	require.Equal(t, "p95 above 2s", got[0].Summary)
	require.True(t, got[0].StartsAt.Equal(now.Add(-10*time.Minute)), got[0].StartsAt)
	require.Equal(t, "HighErrorRate", got[1].Name)
	require.Equal(t, "critical", got[1].Severity)
	require.Equal(t, "High error rate", got[1].Summary)
	require.True(t, got[1].EndsAt.Equal(now.Add(time.Hour)), got[1].EndsAt)
	require.Len(t, got[1].Fingerprint, 16)
	require.Equal(t, map[string]string{"alertname": "HighErrorRate", "application": "checkout-api", "severity": "critical"}, got[1].Labels)

	got, err = c.Alerts(ctx, map[string]string{"application": weird})
	require.NoError(t, err)
	require.Len(t, got, 1, "escaped matcher value")
	require.Equal(t, "Weird", got[0].Name)

	got, err = c.Alerts(ctx, map[string]string{"application": "checkout-api", "severity": "critical"})
	require.NoError(t, err)
	require.Len(t, got, 1)

	got, err = c.Alerts(ctx, map[string]string{"application": "nope"})
	require.NoError(t, err)
	require.Empty(t, got)

	// A filter Alertmanager itself rejects: its error body is a JSON string, which APIError
	// carries unquoted.
	bad := &Client{alerts: base + "/api/v2/alerts?filter=" + url.QueryEscape(`application=~"(`) + "&x=", http: http.DefaultClient}
	_, err = bad.Alerts(ctx, nil)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.HTTPStatus)
	require.NotContains(t, apiErr.Message, `\"`)
	t.Logf("Alertmanager's error: %v", err)
}
