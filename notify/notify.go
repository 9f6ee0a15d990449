package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-ops/vigil/httpretry"
)

// Message is one incident notification.
type Message struct {
	// IncidentID is the workflow ID; the idempotency key of every delivery
	// (e-mail Message-ID, webhook Idempotency-Key header). Required.
	IncidentID string
	// Title is a one-line summary, e.g. "[critical] SlowSQL on checkout-api".
	Title string
	// Text is the report, plain text.
	Text string
	// URL links to the incident (optional).
	URL string

	Severity    string
	Application string
	Rule        string
	Status      string
	// Data is structured detail for machine readers (a deployment checkpoint with its verdict
	// and enrichments); the webhook sends it as "data", the other channels only Text.
	Data any
}

// Channel delivers messages. Name is stable ("email", "slack", "webhook").
type Channel interface {
	Name() string
	Send(ctx context.Context, m Message) error
}

// DeliveryState is the outcome of one channel's delivery, as the incident, change-tracking and
// on-call records keep it.
type DeliveryState struct {
	Channel string `json:"channel"`
	Status  string `json:"status"` // sent | already-sent | failed
	Error   string `json:"error,omitempty"`
}

// DeliveryError is a failed delivery. Retryable says whether trying again
// later may succeed (5xx, 429, timeouts, connection errors, SMTP 4xx) or not
// (other 4xx, SMTP 5xx, bad configuration or message).
type DeliveryError struct {
	Channel   string
	Retryable bool
	// RetryAfter is the wait the receiver asked for (HTTP Retry-After),
	// or 0 when it did not say.
	RetryAfter time.Duration
	Err        error
}

func (e *DeliveryError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
		if e.RetryAfter > 0 {
			kind += ", retry after " + e.RetryAfter.String()
		}
	}
	return fmt.Sprintf("notify %s: %v (%s)", e.Channel, e.Err, kind)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is (or wraps) a retryable
// [*DeliveryError]. Errors of other types are reported retryable.
func IsRetryable(err error) bool {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Retryable
	}
	return err != nil
}

func permanent(channel string, format string, args ...any) *DeliveryError {
	return &DeliveryError{Channel: channel, Err: fmt.Errorf(format, args...)}
}

func checkMessage(channel string, m Message) error {
	if strings.TrimSpace(m.IncidentID) == "" {
		return permanent(channel, "message has no IncidentID (the idempotency key of the delivery)")
	}
	if strings.TrimSpace(m.Title) == "" && strings.TrimSpace(m.Text) == "" {
		return permanent(channel, "message %s has neither title nor text", m.IncidentID)
	}
	return nil
}

// DefaultHTTPTimeout bounds one HTTP delivery when the caller gives no
// client.
const DefaultHTTPTimeout = 30 * time.Second

// defaultHTTPClient has a timeout and does not follow redirects: a webhook
// that redirects is misconfigured, and following a POST with credentials
// elsewhere is not wanted.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: DefaultHTTPTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// maxResponse bounds how much of a response body is read.
const maxResponse = 64 << 10

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// postJSON POSTs body as JSON. Transport failures come back as a
// DeliveryError (retryable) whose message names only the URL's host, since
// the URL itself may be a secret (a Slack incoming webhook).
func postJSON(ctx context.Context, client *http.Client, channel, target string, body any, header http.Header) (*httpResult, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, permanent(channel, "encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
	if err != nil {
		return nil, permanent(channel, "building request for %s: %v", hostOf(target), errors.Unwrap(err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "vigil-notify")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, &DeliveryError{Channel: channel, Retryable: true, Err: fmt.Errorf("POST %s: %w", hostOf(target), err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode/100 != 2 {
		return nil, &DeliveryError{Channel: channel, Retryable: true, Err: fmt.Errorf("POST %s: reading response: %w", hostOf(target), err)}
	}
	return &httpResult{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// statusError classifies a non-2xx HTTP answer: 408, 425, 429 and 5xx are
// retryable, other statuses are not.
func statusError(channel, target string, r *httpResult) *DeliveryError {
	retry := r.status == http.StatusRequestTimeout || r.status == http.StatusTooEarly ||
		r.status == http.StatusTooManyRequests || r.status >= 500
	e := &DeliveryError{Channel: channel, Retryable: retry,
		Err: fmt.Errorf("POST %s: HTTP %d%s", hostOf(target), r.status, snippet(r.body))}
	if retry {
		e.RetryAfter = httpretry.RetryAfter(r.header)
	}
	return e
}

func hostOf(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

// snippet returns ": <start of body>" for error messages.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	return ": " + truncate(strings.Join(strings.Fields(s), " "), 200)
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// isNetErr reports whether err looks like a transient connection problem.
func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
