package amsource

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// DefaultTimeout is the timeout of the HTTP client New creates when given nil.
	DefaultTimeout = 30 * time.Second
	// maxBodyBytes bounds a response body.
	maxBodyBytes = 64 << 20
)

// Client reads one Alertmanager's API v2.
type Client struct {
	alerts string // …/api/v2/alerts
	http   *http.Client
}

// New returns a client for the Alertmanager at baseURL (e.g. "http://alertmanager:9093", or with
// a path prefix such as "https://ops.example/alertmanager" when it runs with
// --web.route-prefix). A nil httpClient is replaced by one with a 30 s timeout.
func New(baseURL string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("amsource: invalid Alertmanager URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("amsource: invalid Alertmanager URL %q: want http(s)://host[:port][/prefix]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("amsource: invalid Alertmanager URL %q: no query or fragment allowed", baseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{alerts: u.JoinPath("api/v2/alerts").String(), http: httpClient}, nil
}

// APIError is an unexpected HTTP status from Alertmanager.
type APIError struct {
	HTTPStatus int    // HTTP status code
	Message    string // the error Alertmanager sent (a JSON string), or the start of the body
}

func (e *APIError) Error() string {
	return fmt.Sprintf("Alertmanager returned HTTP %d: %s", e.HTTPStatus, e.Message)
}

// Alert is one alert Alertmanager holds.
type Alert struct {
	Name        string            `json:"name"`               // labels.alertname
	Severity    string            `json:"severity,omitempty"` // labels.severity
	State       string            `json:"state"`              // status.state: active, suppressed, unprocessed
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt,omitzero"`
	Summary     string            `json:"summary,omitempty"` // annotations.summary or description
	Labels      map[string]string `json:"labels"`
	Fingerprint string            `json:"fingerprint"`
}

// gettableAlert is the subset of API v2's gettableAlert that Alerts reads.
type gettableAlert struct {
	Annotations map[string]string `json:"annotations"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
	StartsAt    time.Time         `json:"startsAt"`
	Status      *struct {
		State string `json:"state"`
	} `json:"status"`
	Labels map[string]string `json:"labels"`
}

// Alerts returns the alerts whose labels match every matcher (label=value equality), active and
// suppressed alike, oldest first.
//
// It sends GET /api/v2/alerts with one filter parameter per matcher (label="value", in label
// order) and also checks the matchers on the answer. Label names must be Prometheus label names
// and values non-empty; no matchers means every alert.
func (c *Client) Alerts(ctx context.Context, matchers map[string]string) ([]Alert, error) {
	filters, err := Filters(matchers)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, k := range []string{"active", "silenced", "inhibited", "unprocessed"} {
		q.Set(k, "true")
	}
	q["filter"] = filters
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.alerts+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("amsource: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("amsource: listing alerts: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("amsource: reading alerts: %w", err)
	}
	if len(body) > maxBodyBytes {
		return nil, fmt.Errorf("amsource: alerts response larger than %d bytes", maxBodyBytes)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &APIError{HTTPStatus: resp.StatusCode, Message: errorMessage(body)}
	}
	var raw []gettableAlert
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("amsource: malformed alerts response (want a JSON array of alerts): %v", err)
	}
	if raw == nil { // null
		return nil, fmt.Errorf("amsource: malformed alerts response: %s", snippet(body))
	}
	out := make([]Alert, 0, len(raw))
	for i, a := range raw {
		if a.Labels == nil || a.Fingerprint == "" || a.StartsAt.IsZero() || a.Status == nil {
			return nil, fmt.Errorf("amsource: malformed alert #%d: labels, fingerprint, startsAt and status are required", i)
		}
		if !matches(a.Labels, matchers) {
			continue
		}
		out = append(out, Alert{
			Name:        a.Labels["alertname"],
			Severity:    a.Labels["severity"],
			State:       a.Status.State,
			StartsAt:    a.StartsAt.UTC(),
			EndsAt:      utcOrZero(a.EndsAt),
			Summary:     cmp.Or(a.Annotations["summary"], a.Annotations["description"]),
			Labels:      a.Labels,
			Fingerprint: a.Fingerprint,
		})
	}
	slices.SortStableFunc(out, func(a, b Alert) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), strings.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out, nil
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func matches(labels, matchers map[string]string) bool {
	for k, v := range matchers {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Filters renders equality matchers in Alertmanager's matcher syntax, label="value" with the
// value's `\`, `"` and newlines escaped, sorted by label. It rejects a label that is not a
// Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*) and an empty value (which Alertmanager would
// read as "label absent").
func Filters(matchers map[string]string) ([]string, error) {
	keys := make([]string, 0, len(matchers))
	for k := range matchers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !labelName(k) {
			return nil, fmt.Errorf("amsource: matcher label %q is not a valid label name", k)
		}
		v := matchers[k]
		if v == "" {
			return nil, fmt.Errorf("amsource: matcher %s has an empty value", k)
		}
		out = append(out, k+`="`+escapeValue(v)+`"`)
	}
	return out, nil
}

// escapeValue escapes a matcher value for Alertmanager's double-quoted syntax: both its classic
// parser and its UTF-8 one (Go unquoting) read \\, \" and \n.
func escapeValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func labelName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// errorMessage is Alertmanager's error text: its error bodies are JSON strings.
func errorMessage(body []byte) string {
	var s string
	if json.Unmarshal(body, &s) == nil && s != "" {
		return snippet([]byte(s))
	}
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &obj) == nil && obj.Message != "" {
		return snippet([]byte(obj.Message))
	}
	return snippet(body)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		n := 200
		for !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
