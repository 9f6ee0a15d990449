package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// WebhookConfig configures [NewWebhook].
type WebhookConfig struct {
	// URL receives the POST.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// HTTPClient is used for requests; nil means a client with a 30s
	// timeout that does not follow redirects.
	HTTPClient *http.Client
}

// Webhook POSTs each message as JSON.
type Webhook struct {
	url, token string
	client     *http.Client
}

var _ Channel = (*Webhook)(nil)

// WebhookPayload is the JSON body of a webhook delivery.
type WebhookPayload struct {
	IncidentID  string `json:"incidentId"`
	Title       string `json:"title"`
	Text        string `json:"text"`
	URL         string `json:"url"`
	Severity    string `json:"severity"`
	Application string `json:"application"`
	Rule        string `json:"rule"`
	Status      string `json:"status"`
	// Data is the message's structured detail, when it has one.
	Data any `json:"data,omitempty"`
}

// NewWebhook checks c and returns a webhook channel.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	if c.URL == "" {
		return nil, errors.New("notify webhook: URL is required")
	}
	if err := checkURL(c.URL); err != nil {
		return nil, fmt.Errorf("notify webhook: URL %w", err)
	}
	w := &Webhook{url: c.URL, token: c.Token, client: c.HTTPClient}
	if w.client == nil {
		w.client = defaultHTTPClient()
	}
	return w, nil
}

// Name returns "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send POSTs m with the header Idempotency-Key: <IncidentID>. Any 2xx is
// success; 408, 425, 429 and 5xx are retryable.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	if err := checkMessage("webhook", m); err != nil {
		return err
	}
	h := http.Header{"Idempotency-Key": {m.IncidentID}}
	if w.token != "" {
		h.Set("Authorization", "Bearer "+w.token)
	}
	body := WebhookPayload{IncidentID: m.IncidentID, Title: m.Title, Text: m.Text, URL: m.URL,
		Severity: m.Severity, Application: m.Application, Rule: m.Rule, Status: m.Status, Data: m.Data}
	r, err := postJSON(ctx, w.client, "webhook", w.url, body, h)
	if err != nil {
		return err
	}
	if r.status/100 != 2 {
		return statusError("webhook", w.url, r)
	}
	return nil
}
