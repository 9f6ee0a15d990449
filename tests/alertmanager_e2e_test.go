package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// mailbox is a real SMTP server (emersion/go-smtp) that keeps every message it receives.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

type mailSession struct{ box *mailbox }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, string(b))
	s.box.mu.Unlock()
	return nil
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

func (m *mailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs)
}

func startSMTP(t *testing.T) (*mailbox, string) {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Addr = testenv.FreeAddr(t)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go func() { _ = srv.ListenAndServe() }()
	t.Cleanup(func() { _ = srv.Close() })
	require.Eventually(t, func() bool {
		c, err := smtp.Dial(srv.Addr)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}, 5*time.Second, 50*time.Millisecond)
	return box, srv.Addr
}

// alertmanagerBinary finds Debian's Alertmanager; the test fails (it does not skip) without it.
func alertmanagerBinary(t *testing.T) string {
	for _, p := range []string{"/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("alertmanager"); err == nil {
		return p
	}
	testenv.Missing(t, "Alertmanager is not installed: apt-get install -y prometheus-alertmanager (.ci/run does this)")
	return ""
}

var notificationsRE = regexp.MustCompile(`alertmanager_notifications_total\{integration="webhook"[^}]*\} (\d+)`)

func webhookNotifications(t *testing.T, amAddr string) int {
	resp, err := http.Get("http://" + amAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	total := 0
	for _, m := range notificationsRE.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}

// TestRealAlertmanagerToReportAndEmail: an alert pushed into a real Alertmanager, configured to
// post to Vigil, becomes exactly one stored report and one e-mail on a real local SMTP server —
// also after Alertmanager resends the notification.
func TestRealAlertmanagerToReportAndEmail(t *testing.T) {
	bin := alertmanagerBinary(t)
	box, smtpAddr := startSMTP(t)
	a, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Alerts.GroupWindow = time.Second
		c.Notify.Email.SMTPAddr = smtpAddr
		c.Notify.Email.From = "vigil@example.com"
		c.Notify.Email.To = []string{"oncall@example.com"}
	}))

	dir := t.TempDir()
	amAddr := testenv.FreeAddr(t)
	cfg := fmt.Sprintf(`route:
  receiver: vigil
  group_by: [alertname, application]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 3s
receivers:
  - name: vigil
    webhook_configs:
      - url: %s/v1/alerts/alertmanager
        send_resolved: true
`, base)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "am.yml"), []byte(cfg), 0o644))
	var amOut bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = &amOut, &amOut
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	require.Eventually(t, ready(amAddr), 30*time.Second, 100*time.Millisecond, "alertmanager did not start:\n%s", &amOut)

	alert := fmt.Sprintf(`[{"labels":{"alertname":"HighErrorRate","application":"checkout-api","instance":"pod-1","severity":"critical"},
	  "annotations":{"summary":"5xx ratio above 5%% on checkout-api"},"startsAt":%q}]`, time.Now().UTC().Format(time.RFC3339))
	resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", strings.NewReader(alert))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// One report and one e-mail.
	require.Eventually(t, func() bool { return box.count() == 1 }, 60*time.Second, 100*time.Millisecond,
		"no e-mail arrived; alertmanager:\n%s", &amOut)
	// Alertmanager resends the group (repeat_interval 3s): wait for at least two more webhook calls.
	require.Eventually(t, func() bool { return webhookNotifications(t, amAddr) >= 3 }, 60*time.Second, 200*time.Millisecond)

	incidents, err := a.Store.ListIncidents(context.Background(), store.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, incidents, 1, "one incident for the alert")
	require.NotEmpty(t, incidents[0].Report)
	calls, err := a.Store.ListLLMCalls(context.Background(), store.LLMCallFilter{WorkflowID: incidents[0].WorkflowID})
	require.NoError(t, err)
	require.Len(t, calls, 1, "one report")
	require.Equal(t, 1, box.count(), "one e-mail, also after the resends")
	box.mu.Lock()
	msg := box.msgs[0]
	box.mu.Unlock()
	require.Contains(t, msg, "HighErrorRate")
	require.Contains(t, msg, "Message-ID: <"+incidents[0].WorkflowID)
}
