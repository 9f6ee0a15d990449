package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/vigil-ops/vigil/httpretry"
)

// SlackConfig configures [NewSlack]: either WebhookURL (an incoming
// webhook) or BotToken and Channel (chat.postMessage).
type SlackConfig struct {
	// WebhookURL is an incoming-webhook URL.
	WebhookURL string
	// BotToken (xoxb-...) posts with chat.postMessage into Channel.
	BotToken, Channel string
	// APIURL is the base URL of the Web API; "" means
	// https://slack.com/api.
	APIURL string
	// HTTPClient is used for requests; nil means a client with a 30s
	// timeout that does not follow redirects.
	HTTPClient *http.Client
}

// Slack posts messages to Slack.
type Slack struct {
	webhookURL string
	token      string
	channel    string
	postURL    string
	client     *http.Client
}

var _ Channel = (*Slack)(nil)

// NewSlack checks c and returns a Slack channel.
func NewSlack(c SlackConfig) (*Slack, error) {
	s := &Slack{client: c.HTTPClient}
	if s.client == nil {
		s.client = defaultHTTPClient()
	}
	switch {
	case c.WebhookURL != "" && c.BotToken != "":
		return nil, errors.New("notify slack: set either a webhook URL or a bot token, not both")
	case c.WebhookURL != "":
		if err := checkURL(c.WebhookURL); err != nil {
			return nil, fmt.Errorf("notify slack: webhook URL %w", err)
		}
		s.webhookURL = c.WebhookURL
	case c.BotToken != "":
		if c.Channel == "" {
			return nil, errors.New("notify slack: a channel is required with a bot token")
		}
		api := c.APIURL
		if api == "" {
			api = "https://slack.com/api"
		}
		if err := checkURL(api); err != nil {
			return nil, fmt.Errorf("notify slack: API URL %w", err)
		}
		s.token, s.channel = c.BotToken, c.Channel
		s.postURL = strings.TrimRight(api, "/") + "/chat.postMessage"
	default:
		return nil, errors.New("notify slack: a webhook URL or a bot token is required")
	}
	return s, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}

// Name returns "slack".
func (s *Slack) Name() string { return "slack" }

// slackRetryable are chat.postMessage errors worth retrying.
var slackRetryable = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true,
}

// Send posts m.
func (s *Slack) Send(ctx context.Context, m Message) error {
	if err := checkMessage("slack", m); err != nil {
		return err
	}
	payload := SlackPayload(m)
	if s.webhookURL != "" {
		r, err := postJSON(ctx, s.client, "slack", s.webhookURL, payload, nil)
		if err != nil {
			return err
		}
		if r.status/100 != 2 {
			return statusError("slack", s.webhookURL, r)
		}
		return nil
	}
	payload["channel"] = s.channel
	r, err := postJSON(ctx, s.client, "slack", s.postURL, payload, http.Header{"Authorization": {"Bearer " + s.token}})
	if err != nil {
		return err
	}
	if r.status/100 != 2 {
		return statusError("slack", s.postURL, r)
	}
	var resp struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		return permanent("slack", "chat.postMessage: unexpected answer%s", snippet(r.body))
	}
	if !resp.OK {
		e := &DeliveryError{Channel: "slack", Retryable: slackRetryable[resp.Error],
			Err: fmt.Errorf("chat.postMessage: %s", resp.Error)}
		if e.Retryable {
			e.RetryAfter = httpretry.RetryAfter(r.header)
		}
		return e
	}
	return nil
}

// Slack limits (https://api.slack.com/reference/block-kit/blocks).
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackBlocksMax  = 50
	slackTextMax    = 35000
)

var headingRe = regexp.MustCompile(`^\s*\[([^\[\]]+)\]\s*$`)

// ReportSection is one "[Heading]" section of a report.
type ReportSection struct {
	Heading string // "" for text before the first heading
	Body    string
}

// SplitReport splits a report on its "[...]" heading lines.
func SplitReport(text string) []ReportSection {
	var out []ReportSection
	cur := ReportSection{}
	var body []string
	flush := func() {
		cur.Body = strings.Trim(strings.Join(body, "\n"), "\n")
		if cur.Heading != "" || strings.TrimSpace(cur.Body) != "" {
			out = append(out, cur)
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if mm := headingRe.FindStringSubmatch(line); mm != nil {
			flush()
			cur, body = ReportSection{Heading: strings.TrimSpace(mm[1])}, nil
			continue
		}
		body = append(body, line)
	}
	flush()
	return out
}

// SlackPayload returns the JSON body posted to Slack for m (without
// "channel"): a "text" fallback and Block Kit "blocks" (a header with the
// title, a section per report section, a context line).
func SlackPayload(m Message) map[string]any {
	title := oneLine(m.Title)
	if title == "" {
		title = "Vigil incident " + oneLine(m.IncidentID)
	}
	var blocks []any
	blocks = append(blocks, map[string]any{"type": "header",
		"text": map[string]any{"type": "plain_text", "text": truncate(title, slackHeaderMax), "emoji": true}})
	for _, sec := range SplitReport(m.Text) {
		text := escapeMrkdwn(sec.Body)
		if sec.Heading != "" {
			text = "*" + escapeMrkdwn(sec.Heading) + "*\n" + text
		}
		for _, chunk := range chunks(text, slackSectionMax) {
			blocks = append(blocks, map[string]any{"type": "section",
				"text": map[string]any{"type": "mrkdwn", "text": chunk}})
		}
	}
	var ctx []any
	for _, f := range []struct{ k, v string }{{"Severity", m.Severity}, {"Application", m.Application}, {"Rule", m.Rule}, {"Status", m.Status}} {
		if v := oneLine(f.v); v != "" {
			ctx = append(ctx, map[string]any{"type": "mrkdwn", "text": "*" + f.k + ":* " + escapeMrkdwn(v)})
		}
	}
	if u, err := url.Parse(m.URL); m.URL != "" && err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		ctx = append(ctx, map[string]any{"type": "mrkdwn", "text": "<" + escapeMrkdwn(m.URL) + "|Open incident>"})
	}
	ctx = append(ctx, map[string]any{"type": "mrkdwn", "text": "Incident " + escapeMrkdwn(oneLine(m.IncidentID))})
	// Keep the header and the context line when a report has too many
	// sections; the full text is still in the fallback.
	if len(blocks) > slackBlocksMax-1 {
		blocks = blocks[:slackBlocksMax-1]
	}
	blocks = append(blocks, map[string]any{"type": "context", "elements": ctx})

	fallback := title
	if m.Text != "" {
		fallback += "\n\n" + m.Text
	}
	if m.URL != "" && !strings.Contains(fallback, m.URL) {
		fallback += "\n" + m.URL
	}
	return map[string]any{"text": truncate(escapeMrkdwn(fallback), slackTextMax), "blocks": blocks}
}

// escapeMrkdwn escapes the three characters Slack requires escaped.
func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// chunks splits s into pieces of at most n runes, at line breaks when
// possible.
func chunks(s string, n int) []string {
	var out []string
	for {
		r := []rune(s)
		if len(r) <= n {
			return append(out, s)
		}
		cut := n
		if i := strings.LastIndex(string(r[:n]), "\n"); i > 0 {
			cut = len([]rune(string(r[:n])[:i]))
		}
		out = append(out, strings.TrimRight(string(r[:cut]), "\n"))
		s = strings.TrimLeft(string(r[cut:]), "\n")
	}
}
