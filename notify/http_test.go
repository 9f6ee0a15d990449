package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vigil-ops/vigil/config"
)

// request is one request received by a test HTTP server.
type request struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// recorder is an httptest server that records requests and answers with
// the next of its responses (the last one repeats).
type recorder struct {
	mu   sync.Mutex
	reqs []request
	srv  *httptest.Server
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func newRecorder(t *testing.T, answers ...answer) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("request body is not a JSON object: %v: %s", err, b)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, request{req.Method, req.URL.Path, req.Header.Clone(), body})
		a := answers[min(len(r.reqs), len(answers))-1]
		r.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) last() request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

var testMsg = Message{
	IncidentID:  "vigil-alert-group-42",
	Title:       "[critical] SlowSQL on checkout-api",
	Text:        "[Summary]\nA slow query <select *> & friends.\n\n[Transaction]\n- URL: GET /cart\n\n[Profile analysis]\n- SQL: 6 s\n\n[Action plan]\n1. Add an index.\n",
	URL:         "https://vigil.example.com/incidents/42",
	Severity:    "critical",
	Application: "checkout-api",
	Rule:        "SlowSQL",
	Status:      "firing",
}

func requireDeliveryError(t *testing.T, err error, channel string, retryable bool) *DeliveryError {
	t.Helper()
	var de *DeliveryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, channel, de.Channel)
	require.Equal(t, retryable, de.Retryable, "%v", err)
	return de
}

func blocksOf(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["blocks"].([]any)
	require.True(t, ok, "blocks: %v", body)
	out := make([]map[string]any, len(raw))
	for i, b := range raw {
		out[i] = b.(map[string]any)
	}
	return out
}

func TestSlackIncomingWebhook(t *testing.T) {
	r := newRecorder(t, answer{status: 200, body: "ok"})
	s, err := NewSlack(SlackConfig{WebhookURL: r.srv.URL + "/services/T0/B0/secret"})
	require.NoError(t, err)
	require.Equal(t, "slack", s.Name())
	require.NoError(t, s.Send(context.Background(), testMsg))

	req := r.last()
	require.Equal(t, "POST", req.Method)
	require.Equal(t, "/services/T0/B0/secret", req.Path)
	require.Empty(t, req.Header.Get("Authorization"))
	require.Equal(t, "application/json; charset=utf-8", req.Header.Get("Content-Type"))
	require.NotContains(t, req.Body, "channel")
	require.Contains(t, req.Body["text"], "[critical] SlowSQL on checkout-api")
	require.Contains(t, req.Body["text"], "&lt;select *&gt; &amp; friends")

	blocks := blocksOf(t, req.Body)
	require.Len(t, blocks, 6) // header, 4 sections, context
	require.Equal(t, "header", blocks[0]["type"])
	require.Equal(t, map[string]any{"type": "plain_text", "text": testMsg.Title, "emoji": true}, blocks[0]["text"])
	var headings []string
	for _, b := range blocks[1:5] {
		require.Equal(t, "section", b["type"])
		txt := b["text"].(map[string]any)
		require.Equal(t, "mrkdwn", txt["type"])
		headings = append(headings, strings.SplitN(txt["text"].(string), "\n", 2)[0])
	}
	require.Equal(t, []string{"*Summary*", "*Transaction*", "*Profile analysis*", "*Action plan*"}, headings)
	require.Equal(t, "*Summary*\nA slow query &lt;select *&gt; &amp; friends.", blocks[1]["text"].(map[string]any)["text"])
	require.Equal(t, "context", blocks[5]["type"])
	ctxText := fmt.Sprint(blocks[5]["elements"])
	for _, want := range []string{"*Severity:* critical", "*Application:* checkout-api", "<https://vigil.example.com/incidents/42|Open incident>"} {
		require.Contains(t, ctxText, want)
	}
}

func TestSlackWebhookErrors(t *testing.T) {
	for _, tt := range []struct {
		name       string
		a          answer
		retryable  bool
		retryAfter time.Duration
	}{
		{"429", answer{status: 429, header: map[string]string{"Retry-After": "30"}, body: "rate_limited"}, true, 30 * time.Second},
		{"500", answer{status: 500, body: "oops"}, true, 0},
		{"400", answer{status: 400, body: "invalid_payload"}, false, 0},
		{"404", answer{status: 404, body: "no_service"}, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t, tt.a)
			s, err := NewSlack(SlackConfig{WebhookURL: r.srv.URL + "/services/T0/B0/secret"})
			require.NoError(t, err)
			err = s.Send(context.Background(), testMsg)
			de := requireDeliveryError(t, err, "slack", tt.retryable)
			require.Equal(t, tt.retryAfter, de.RetryAfter)
			require.NotContains(t, err.Error(), "secret", "the webhook URL must not leak into errors")
			require.Contains(t, err.Error(), tt.a.body)
		})
	}

	// Connection refused: retryable, URL not leaked.
	r := newRecorder(t, answer{status: 200})
	u := r.srv.URL + "/services/T0/B0/secret"
	r.srv.Close()
	s, err := NewSlack(SlackConfig{WebhookURL: u})
	require.NoError(t, err)
	err = s.Send(context.Background(), testMsg)
	requireDeliveryError(t, err, "slack", true)
	require.NotContains(t, err.Error(), "secret")
}

func TestSlackPostMessage(t *testing.T) {
	r := newRecorder(t, answer{status: 200, body: `{"ok":true,"channel":"C123","ts":"1.2"}`})
	s, err := NewSlack(SlackConfig{BotToken: "xoxb-test", Channel: "C123", APIURL: r.srv.URL + "/api/"})
	require.NoError(t, err)
	require.NoError(t, s.Send(context.Background(), testMsg))
	req := r.last()
	require.Equal(t, "/api/chat.postMessage", req.Path)
	require.Equal(t, "Bearer xoxb-test", req.Header.Get("Authorization"))
	require.Equal(t, "application/json; charset=utf-8", req.Header.Get("Content-Type"))
	require.Equal(t, "C123", req.Body["channel"])
	require.Contains(t, req.Body["text"], testMsg.Title)
	require.Len(t, blocksOf(t, req.Body), 6)

	for _, tt := range []struct {
		name       string
		a          answer
		retryable  bool
		retryAfter time.Duration
		want       string
	}{
		{"not in channel", answer{status: 200, body: `{"ok":false,"error":"not_in_channel"}`}, false, 0, "not_in_channel"},
		{"invalid auth", answer{status: 200, body: `{"ok":false,"error":"invalid_auth"}`}, false, 0, "invalid_auth"},
		{"ratelimited", answer{status: 200, header: map[string]string{"Retry-After": "7"}, body: `{"ok":false,"error":"ratelimited"}`}, true, 7 * time.Second, "ratelimited"},
		{"429", answer{status: 429, header: map[string]string{"Retry-After": "12"}}, true, 12 * time.Second, "HTTP 429"},
		{"503", answer{status: 503, body: "upstream"}, true, 0, "HTTP 503"},
		{"not json", answer{status: 200, body: "<html>"}, false, 0, "unexpected answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t, tt.a)
			s, err := NewSlack(SlackConfig{BotToken: "xoxb-test", Channel: "C123", APIURL: r.srv.URL})
			require.NoError(t, err)
			err = s.Send(context.Background(), testMsg)
			de := requireDeliveryError(t, err, "slack", tt.retryable)
			require.Equal(t, tt.retryAfter, de.RetryAfter)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "xoxb-test")
		})
	}
}

func TestSlackPayloadKorean(t *testing.T) {
	p := SlackPayload(Message{IncidentID: "wf-ko", Title: "[critical] 결제 API 응답 지연", Text: koReport})
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(b, &body))
	blocks := blocksOf(t, body)
	require.Len(t, blocks, 6)
	require.Equal(t, "*요약*\npayment-api에서 SlowExternalCall 알림이 발생했습니다. 원인은 외부 호출 지연입니다.", blocks[1]["text"].(map[string]any)["text"])
	require.True(t, strings.HasPrefix(blocks[4]["text"].(map[string]any)["text"].(string), "*조치 계획*\n1."))

	// Limits: long titles, long sections, many sections.
	long := "[A]\n" + strings.Repeat("가나다라 마바사\n", 1000)
	for i := 0; i < 80; i++ {
		long += "[S]\nx\n"
	}
	p = SlackPayload(Message{IncidentID: "wf", Title: strings.Repeat("t", 400), Text: long})
	bl := p["blocks"].([]any)
	require.Len(t, bl, 50)
	require.Equal(t, "context", bl[49].(map[string]any)["type"])
	require.Len(t, []rune(bl[0].(map[string]any)["text"].(map[string]any)["text"].(string)), 150)
	for _, x := range bl[1:49] {
		require.LessOrEqual(t, len([]rune(x.(map[string]any)["text"].(map[string]any)["text"].(string))), 3000)
	}
}

func TestSplitReport(t *testing.T) {
	require.Equal(t, []ReportSection{{"", "intro"}, {"A", "one\n\ntwo"}, {"B b", ""}},
		SplitReport("intro\n[A]\none\n\ntwo\n\n [B b] \n"))
	require.Equal(t, []ReportSection{{"", "no headings [inline] here"}}, SplitReport("no headings [inline] here"))
}

func TestNewSlackValidates(t *testing.T) {
	for _, c := range []SlackConfig{
		{},
		{WebhookURL: "https://h/x", BotToken: "t", Channel: "c"},
		{WebhookURL: "hooks.slack.com/x"},
		{BotToken: "t"},
		{BotToken: "t", Channel: "c", APIURL: "slack.com/api"},
	} {
		_, err := NewSlack(c)
		require.Error(t, err, "%+v", c)
	}
	s, err := NewSlack(SlackConfig{BotToken: "t", Channel: "c"})
	require.NoError(t, err)
	require.Equal(t, "https://slack.com/api/chat.postMessage", s.postURL)
	require.NotZero(t, s.client.Timeout)
}

func TestWebhook(t *testing.T) {
	r := newRecorder(t, answer{status: 202})
	w, err := NewWebhook(WebhookConfig{URL: r.srv.URL + "/hook", Token: "tok-1"})
	require.NoError(t, err)
	require.Equal(t, "webhook", w.Name())
	require.NoError(t, w.Send(context.Background(), testMsg))
	req := r.last()
	require.Equal(t, "POST", req.Method)
	require.Equal(t, "/hook", req.Path)
	require.Equal(t, "vigil-alert-group-42", req.Header.Get("Idempotency-Key"))
	require.Equal(t, "Bearer tok-1", req.Header.Get("Authorization"))
	require.Equal(t, "application/json; charset=utf-8", req.Header.Get("Content-Type"))
	require.Equal(t, map[string]any{
		"incidentId": testMsg.IncidentID, "title": testMsg.Title, "text": testMsg.Text, "url": testMsg.URL,
		"severity": "critical", "application": "checkout-api", "rule": "SlowSQL", "status": "firing",
	}, req.Body)

	// No token, no Authorization header.
	w, err = NewWebhook(WebhookConfig{URL: r.srv.URL})
	require.NoError(t, err)
	require.NoError(t, w.Send(context.Background(), testMsg))
	require.Empty(t, r.last().Header.Get("Authorization"))

	for _, tt := range []struct {
		status    int
		retryable bool
	}{{500, true}, {503, true}, {429, true}, {408, true}, {400, false}, {401, false}, {404, false}, {302, false}} {
		r := newRecorder(t, answer{status: tt.status, header: map[string]string{"Location": "http://elsewhere/"}, body: "nope"})
		w, err := NewWebhook(WebhookConfig{URL: r.srv.URL, Token: "tok-1"})
		require.NoError(t, err)
		err = w.Send(context.Background(), testMsg)
		requireDeliveryError(t, err, "webhook", tt.retryable)
		require.NotContains(t, err.Error(), "tok-1")
	}

	// A cancelled context is reported as retryable (the caller decides).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w, err = NewWebhook(WebhookConfig{URL: r.srv.URL})
	require.NoError(t, err)
	requireDeliveryError(t, w.Send(ctx, testMsg), "webhook", true)

	_, err = NewWebhook(WebhookConfig{})
	require.Error(t, err)
	_, err = NewWebhook(WebhookConfig{URL: "example.com/hook"})
	require.Error(t, err)
}

func TestFromConfig(t *testing.T) {
	secrets := map[string]string{"SMTP_PASSWORD": "pw", "SLACK_HOOK": "https://hooks.slack.com/services/T/B/X", "BOT": "xoxb-1", "HOOK_TOKEN": "ht"}
	secret := func(env, file string) (string, error) {
		if file != "" {
			b, err := os.ReadFile(file)
			return strings.TrimSpace(string(b)), err
		}
		v, ok := secrets[env]
		if !ok {
			return "", os.ErrNotExist
		}
		return v, nil
	}
	names := func(chs []Channel) []string {
		out := []string{}
		for _, c := range chs {
			out = append(out, c.Name())
		}
		return out
	}

	chs, err := FromConfig(config.Default().Notify, secret)
	require.NoError(t, err)
	require.NotNil(t, chs)
	require.Empty(t, chs)

	c, err := config.Parse("example.yaml", config.ExampleYAML, nil)
	require.NoError(t, err)
	chs, err = FromConfig(c.Notify, func(env, file string) (string, error) {
		return map[string]string{"SMTP_PASSWORD": "pw", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"}[env], nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"email", "slack"}, names(chs))
	e := chs[0].(*Email)
	require.Equal(t, "pw", e.pass)
	require.True(t, e.startTLS)

	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("file-token\n"), 0o600))
	n := config.Notify{
		Email:   config.NotifyEmail{SMTPAddr: "127.0.0.1:25", From: "v@example.com", To: []string{"a@example.com"}},
		Slack:   config.NotifySlack{BotTokenEnv: "BOT", Channel: "C1", APIURL: "https://slack.example.com/api"},
		Webhook: config.NotifyWebhook{URL: "https://hooks.example.com/v", TokenFile: tokenFile},
	}
	chs, err = FromConfig(n, secret)
	require.NoError(t, err)
	require.Equal(t, []string{"email", "slack", "webhook"}, names(chs))
	require.Equal(t, "xoxb-1", chs[1].(*Slack).token)
	require.Equal(t, "https://slack.example.com/api/chat.postMessage", chs[1].(*Slack).postURL)
	require.Equal(t, "file-token", chs[2].(*Webhook).token)

	chs, err = FromConfig(config.Notify{Slack: config.NotifySlack{WebhookURLEnv: "SLACK_HOOK"}}, secret)
	require.NoError(t, err)
	require.Equal(t, "https://hooks.slack.com/services/T/B/X", chs[0].(*Slack).webhookURL)

	// Every problem is reported, naming the key, never the secret.
	secrets["SLACK_HOOK"] = "http://hooks.example.com/secret-path"
	_, err = FromConfig(config.Notify{
		Email:   config.NotifyEmail{SMTPAddr: "127.0.0.1:25", From: "v@example.com", To: []string{"a@example.com"}, Username: "u", PasswordEnv: "MISSING"},
		Slack:   config.NotifySlack{WebhookURLEnv: "SLACK_HOOK"},
		Webhook: config.NotifyWebhook{URL: "https://x/h", TokenEnv: "ALSO_MISSING"},
	}, secret)
	require.ErrorContains(t, err, "notify.email.password_env")
	require.ErrorContains(t, err, "notify.slack.webhook_url: the referenced value is not an acceptable URL")
	require.ErrorContains(t, err, "notify.webhook.token_env")
	require.NotContains(t, err.Error(), "secret-path")
}
