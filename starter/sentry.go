package starter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/vigil-ops/vigil/profile"
)

// Sentry's integration-platform webhook headers.
const (
	HeaderSentrySignature = "Sentry-Hook-Signature"
	HeaderSentryResource  = "Sentry-Hook-Resource"
)

// verifySentry checks Sentry-Hook-Signature: the hex HMAC-SHA256 of the raw body under the
// internal integration's client secret. Sentry signs no timestamp, so a resend is the same
// request; it joins the incident it already started.
func verifySentry(r *http.Request, body, secret []byte) error {
	sig := strings.TrimSpace(r.Header.Get(HeaderSentrySignature))
	if sig == "" {
		return errors.New(HeaderSentrySignature + " is missing: Sentry signs with the internal integration's client secret")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return errors.New(HeaderSentrySignature + ": not hex")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New(HeaderSentrySignature + " does not match the body under the client secret of alerts.sources.sentry")
	}
	return nil
}

// SignSentry returns the Sentry-Hook-Signature of body under secret (for tests and senders).
func SignSentry(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

type sentryHook struct {
	Action string `json:"action"`
	Data   struct {
		Event         *sentryEvent       `json:"event"`
		TriggeredRule string             `json:"triggered_rule"`
		MetricAlert   *sentryMetricAlert `json:"metric_alert"`
		DescTitle     string             `json:"description_title"`
		DescText      string             `json:"description_text"`
		WebURL        string             `json:"web_url"`
		Issue         *struct {
			ID flexString `json:"id"`
		} `json:"issue"`
	} `json:"data"`
}

type sentryEvent struct {
	EventID   flexString      `json:"event_id"`
	IssueID   flexString      `json:"issue_id"`
	Title     string          `json:"title"`
	Message   string          `json:"message"`
	Culprit   string          `json:"culprit"`
	Level     string          `json:"level"`
	Platform  string          `json:"platform"`
	Project   flexString      `json:"project"`
	Datetime  string          `json:"datetime"`
	Timestamp float64         `json:"timestamp"`
	URL       string          `json:"url"`
	WebURL    string          `json:"web_url"`
	Tags      json.RawMessage `json:"tags"`
	Contexts  struct {
		Trace struct {
			TraceID string `json:"trace_id"`
		} `json:"trace"`
	} `json:"contexts"`
}

type sentryMetricAlert struct {
	ID          flexString `json:"id"`
	Title       string     `json:"title"`
	DateStarted string     `json:"date_started"`
	DateClosed  string     `json:"date_closed"`
	Projects    []string   `json:"projects"`
	AlertRule   struct {
		ID          flexString `json:"id"`
		Name        string     `json:"name"`
		Aggregate   string     `json:"aggregate"`
		Query       string     `json:"query"`
		Environment string     `json:"environment"`
		Projects    []string   `json:"projects"`
	} `json:"alert_rule"`
}

// sentryProjectRE finds the project slug in an event's API URL
// (https://sentry.io/api/0/projects/<org>/<project>/events/<id>/).
var sentryProjectRE = regexp.MustCompile(`/projects/[^/]+/([^/]+)/events/`)

// parseSentry maps Sentry's webhooks: an issue alert (event_alert) fires the alert of the
// issue; a metric alert (metric_alert) fires with critical or warning and resolves with
// resolved; an issue webhook (issue) that says resolved resolves the issue's alert. Anything
// else (installation, other issue actions) is ignored.
func parseSentry(r *http.Request, body []byte) (sourceNotification, error) {
	var h sentryHook
	if err := decodeSource(body, &h); err != nil {
		return sourceNotification{}, err
	}
	resource := strings.TrimSpace(r.Header.Get(HeaderSentryResource))
	if resource == "" {
		switch {
		case h.Data.Event != nil:
			resource = "event_alert"
		case h.Data.MetricAlert != nil:
			resource = "metric_alert"
		case h.Data.Issue != nil:
			resource = "issue"
		}
	}
	switch resource {
	case "event_alert":
		return sentryIssueAlert(h)
	case "metric_alert":
		return sentryMetricAlertOf(h)
	case "issue":
		if h.Action != "resolved" {
			return sourceNotification{Ignored: "Sentry issue " + h.Action + " (only resolved is acted on)"}, nil
		}
		if h.Data.Issue == nil || h.Data.Issue.ID == "" {
			return sourceNotification{}, &profile.FieldError{Field: "data.issue.id", Message: "required"}
		}
		id := string(h.Data.Issue.ID)
		return sourceNotification{GroupKey: "issue:" + id, Resolved: []string{"sentry-issue-" + id}}, nil
	default:
		return sourceNotification{Ignored: "Sentry resource " + resource + " carries no alert"}, nil
	}
}

func sentryIssueAlert(h sentryHook) (sourceNotification, error) {
	ev := h.Data.Event
	if ev == nil {
		return sourceNotification{}, &profile.FieldError{Field: "data.event", Message: "required"}
	}
	issue := string(ev.IssueID)
	if issue == "" {
		return sourceNotification{}, &profile.FieldError{Field: "data.event.issue_id", Message: "required"}
	}
	tags := sentryTags(ev.Tags)
	app := ""
	if m := sentryProjectRE.FindStringSubmatch(ev.URL); m != nil {
		app = m[1]
	}
	if app == "" && ev.Project != "" {
		app = "sentry-project-" + string(ev.Project)
	}
	var starts any = ev.Datetime
	if ev.Datetime == "" && ev.Timestamp > 0 {
		starts = unixTime(ev.Timestamp)
	}
	labels := map[string]string{"source": "sentry", "sentry_issue_id": issue}
	for k, v := range tags {
		labels["sentry_"+k] = v
	}
	if ev.Platform != "" {
		labels["sentry_platform"] = ev.Platform
	}
	if ev.Culprit != "" {
		labels["sentry_culprit"] = ev.Culprit
	}
	m := map[string]any{
		"rule":        firstNonEmpty(h.Data.TriggeredRule, "Sentry issue alert"),
		"message":     firstNonEmpty(ev.Title, ev.Message, "Sentry issue "+issue),
		"severity":    sentrySeverity(firstNonEmpty(ev.Level, tags["level"])),
		"application": app,
		"instance":    tags["server_name"],
		"fingerprint": "sentry-issue-" + issue,
		"startsAt":    starts,
		"labels":      labels,
		"traceId":     ev.Contexts.Trace.TraceID,
	}
	if profile.ValidLinkURL(ev.WebURL) {
		m["links"] = []profile.Link{{Name: "event", URL: ev.WebURL}}
	}
	al, err := toSourceAlert(m, map[string]string{
		"rule": "data.triggered_rule", "message": "data.event.title", "severity": "data.event.level",
		"application": "data.event.url", "instance": "data.event.tags.server_name",
		"fingerprint": "data.event.issue_id", "startsAt": "data.event.datetime",
		"traceId": "data.event.contexts.trace.trace_id", "labels": "data.event.tags",
	})
	if err != nil {
		return sourceNotification{}, err
	}
	return sourceNotification{GroupKey: "issue:" + issue, Firing: []*profile.Alert{al}}, nil
}

func sentryMetricAlertOf(h sentryHook) (sourceNotification, error) {
	ma := h.Data.MetricAlert
	if ma == nil {
		return sourceNotification{}, &profile.FieldError{Field: "data.metric_alert", Message: "required"}
	}
	if ma.ID == "" {
		return sourceNotification{}, &profile.FieldError{Field: "data.metric_alert.id", Message: "required"}
	}
	rule := string(ma.AlertRule.ID)
	if rule == "" {
		rule = ma.AlertRule.Name
	}
	n := sourceNotification{GroupKey: "metric_alert:" + rule}
	fp := "sentry-metric-alert-" + string(ma.ID)
	var sev string
	switch h.Action {
	case "resolved":
		n.Resolved = []string{fp}
		return n, nil
	case "critical":
		sev = profile.SeverityCritical
	case "warning":
		sev = profile.SeverityWarning
	default:
		return sourceNotification{}, &profile.FieldError{Field: "action", Message: "must be critical, warning or resolved for a metric alert, got " + quoteShort(h.Action)}
	}
	projects := ma.Projects
	if len(projects) == 0 {
		projects = ma.AlertRule.Projects
	}
	app := ""
	if len(projects) > 0 {
		app = projects[0]
	}
	msg := strings.TrimSpace(firstNonEmpty(h.Data.DescTitle, ma.Title) + "\n" + h.Data.DescText)
	labels := map[string]string{"source": "sentry", "sentry_alert_rule_id": string(ma.AlertRule.ID)}
	for k, v := range map[string]string{"sentry_aggregate": ma.AlertRule.Aggregate, "sentry_query": ma.AlertRule.Query,
		"sentry_environment": ma.AlertRule.Environment, "sentry_projects": strings.Join(projects, ",")} {
		if v != "" {
			labels[k] = v
		}
	}
	m := map[string]any{
		"rule":        firstNonEmpty(ma.AlertRule.Name, ma.Title),
		"message":     msg,
		"severity":    sev,
		"application": app,
		"fingerprint": fp,
		"startsAt":    ma.DateStarted,
		"labels":      labels,
	}
	if profile.ValidLinkURL(h.Data.WebURL) {
		m["links"] = []profile.Link{{Name: "alert", URL: h.Data.WebURL}}
	}
	al, err := toSourceAlert(m, map[string]string{
		"rule": "data.metric_alert.alert_rule.name", "message": "data.description_title",
		"application": "data.metric_alert.projects", "fingerprint": "data.metric_alert.id",
		"startsAt": "data.metric_alert.date_started", "labels": "data.metric_alert.alert_rule",
	})
	if err != nil {
		return sourceNotification{}, err
	}
	n.Firing = []*profile.Alert{al}
	return n, nil
}

// sentryTags reads an event's tags, as [["key","value"],...] or [{"key":..,"value":..},...];
// at most 32 are kept.
func sentryTags(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	var pairs [][]any
	if json.Unmarshal(raw, &pairs) == nil {
		for _, p := range pairs {
			if len(p) == 2 {
				k, _ := p[0].(string)
				v, _ := p[1].(string)
				if k != "" && v != "" && len(out) < 32 {
					out[k] = v
				}
			}
		}
		return out
	}
	var objs []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if json.Unmarshal(raw, &objs) == nil {
		for _, o := range objs {
			if o.Key != "" && o.Value != "" && len(out) < 32 {
				out[o.Key] = o.Value
			}
		}
	}
	return out
}

// sentrySeverity maps Sentry's levels: fatal and error page (critical), warning warns, info and
// debug inform.
func sentrySeverity(level string) string {
	switch strings.ToLower(level) {
	case "fatal", "error":
		return profile.SeverityCritical
	case "info", "debug", "log", "sample":
		return profile.SeverityInfo
	default:
		return profile.SeverityWarning
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// quoteShort quotes a value for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	return `"` + truncateUTF8(s, 64) + `"`
}
