package starter

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"net/http"

	"github.com/vigil-ops/vigil/profile"
)

// datadogBody is the body of Datadog's webhook with the template the README gives (Datadog's
// $VARIABLES, each a string).
type datadogBody struct {
	ID            flexString `json:"id"`
	AlertID       flexString `json:"alert_id"`
	AlertCycleKey flexString `json:"alert_cycle_key"`
	Title         string     `json:"title"`
	EventTitle    string     `json:"event_title"`
	Message       string     `json:"message"`
	Transition    string     `json:"transition"`
	AlertType     string     `json:"alert_type"`
	Priority      string     `json:"priority"`
	Metric        string     `json:"metric"`
	Query         string     `json:"query"`
	Scope         string     `json:"scope"`
	Hostname      string     `json:"hostname"`
	Tags          string     `json:"tags"`
	Date          flexString `json:"date"`
	LastUpdated   flexString `json:"last_updated"`
	Link          string     `json:"link"`
	Snapshot      string     `json:"snapshot"`
	Org           struct {
		ID   flexString `json:"id"`
		Name string     `json:"name"`
	} `json:"org"`
}

// statusPrefixRE matches the "[Triggered on {host:web-1}] " prefixes Datadog puts before a
// monitor's name in its titles.
var statusPrefixRE = regexp.MustCompile(`^(\[[^\]]*\]\s*)+`)

// parseDatadog maps a Datadog monitor notification: Recovered resolves the monitor group's
// alert of this cycle, any other transition fires it. One monitor is one group; a multi-alert
// monitor's groups ($ALERT_SCOPE) are its alerts.
func parseDatadog(_ *http.Request, body []byte) (sourceNotification, error) {
	var d datadogBody
	if err := decodeSource(body, &d); err != nil {
		return sourceNotification{}, err
	}
	monitor := string(d.AlertID)
	if monitor == "" {
		return sourceNotification{}, &profile.FieldError{Field: "alert_id", Message: "required ($ALERT_ID)"}
	}
	fp := "datadog-" + monitor + "-" + hashID(d.Scope, string(d.AlertCycleKey))
	n := sourceNotification{GroupKey: "monitor:" + monitor}
	transition := strings.ToLower(strings.TrimSpace(d.Transition))
	if transition == "recovered" || strings.EqualFold(d.AlertType, "success") {
		n.Resolved = []string{fp}
		return n, nil
	}
	tags := splitTags(d.Tags)
	sev := profile.SeverityWarning
	switch {
	case strings.Contains(transition, "warn"), transition == "no data":
	case strings.EqualFold(d.AlertType, "error"), strings.HasPrefix(strings.ToUpper(d.Priority), "P1"), strings.HasPrefix(strings.ToUpper(d.Priority), "P2"):
		sev = profile.SeverityCritical
	case strings.EqualFold(d.AlertType, "info"):
		sev = profile.SeverityInfo
	}
	starts, ok := datadogTime(string(d.Date))
	if !ok {
		return sourceNotification{}, &profile.FieldError{Field: "date", Message: "must be Unix milliseconds ($DATE) or an RFC 3339 time, got " + quoteShort(string(d.Date))}
	}
	labels := map[string]string{"source": "datadog", "datadog_monitor_id": monitor}
	for k, v := range tags {
		if k != "" {
			labels["datadog_"+k] = v
		}
	}
	for k, v := range map[string]string{"datadog_transition": d.Transition, "datadog_scope": d.Scope,
		"datadog_metric": d.Metric, "datadog_query": d.Query, "datadog_priority": d.Priority} {
		if v != "" {
			labels[k] = truncateUTF8(v, 1024)
		}
	}
	rule := strings.TrimSpace(statusPrefixRE.ReplaceAllString(firstNonEmpty(d.Title, d.EventTitle), ""))
	m := map[string]any{
		"rule":        firstNonEmpty(rule, "Datadog monitor "+monitor),
		"message":     firstNonEmpty(d.EventTitle, d.Title) + "\n" + d.Message,
		"severity":    sev,
		"application": firstNonEmpty(tags["service"], tags["application"], tags["app"], "datadog"),
		"instance":    firstNonEmpty(d.Hostname, tags["host"], tags["pod_name"]),
		"fingerprint": fp,
		"startsAt":    starts,
		"labels":      labels,
		"traceId":     firstNonEmpty(tags["trace_id"]),
	}
	var links []profile.Link
	for _, l := range []profile.Link{{Name: "event", URL: d.Link}, {Name: "image", URL: d.Snapshot}} {
		if profile.ValidLinkURL(l.URL) {
			links = append(links, l)
		}
	}
	if links != nil {
		m["links"] = links
	}
	al, err := toSourceAlert(m, map[string]string{
		"rule": "title", "message": "event_title", "application": "tags", "instance": "hostname",
		"startsAt": "date", "labels": "tags", "traceId": "tags",
	})
	if err != nil {
		return sourceNotification{}, err
	}
	n.Firing = []*profile.Alert{al}
	return n, nil
}

// datadogTime reads $DATE: Unix milliseconds (or seconds), or an RFC 3339 time.
func datadogTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e14 {
		return unixTime(f), true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}
