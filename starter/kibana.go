package starter

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/profile"
)

// kibanaBody is the body of a Kibana rule's webhook connector action with the template the
// README gives (Kibana's mustache variables, each a string).
type kibanaBody struct {
	RuleID          string `json:"rule_id"`
	RuleName        string `json:"rule_name"`
	RuleTags        string `json:"rule_tags"`
	SpaceID         string `json:"space_id"`
	AlertID         string `json:"alert_id"`
	AlertUUID       string `json:"alert_uuid"`
	ActionGroup     string `json:"action_group"`
	ActionGroupName string `json:"action_group_name"`
	Reason          string `json:"reason"`
	Value           string `json:"value"`
	Date            string `json:"date"`
	AlertURL        string `json:"alert_url"`
	ViewInAppURL    string `json:"view_in_app_url"`
	Service         string `json:"service"`
	Environment     string `json:"environment"`
	Host            string `json:"host"`
	// Severity and TraceID are optional: a literal severity per action, a trace ID variable
	// where the rule type has one.
	Severity string `json:"severity"`
	TraceID  string `json:"trace_id"`
}

// parseKibana maps a Kibana alerting rule's webhook action: the recovered action group resolves
// the rule's alert (same rule and alert UUID), any other group fires it. One rule is one group.
func parseKibana(_ *http.Request, body []byte) (sourceNotification, error) {
	var k kibanaBody
	if err := decodeSource(body, &k); err != nil {
		return sourceNotification{}, err
	}
	if strings.TrimSpace(k.RuleID) == "" {
		return sourceNotification{}, &profile.FieldError{Field: "rule_id", Message: "required ({{rule.id}})"}
	}
	if strings.TrimSpace(k.AlertID) == "" && strings.TrimSpace(k.AlertUUID) == "" {
		return sourceNotification{}, &profile.FieldError{Field: "alert_id", Message: "required ({{alert.id}}, or alert_uuid {{alert.uuid}})"}
	}
	fp := "kibana-" + hashID(k.RuleID, k.AlertID, k.AlertUUID)
	n := sourceNotification{GroupKey: "rule:" + k.SpaceID + ":" + k.RuleID}
	group := strings.ToLower(strings.TrimSpace(k.ActionGroup))
	if group == "recovered" {
		n.Resolved = []string{fp}
		return n, nil
	}
	tags := splitTags(k.RuleTags)
	sev := strings.ToLower(strings.TrimSpace(k.Severity))
	if sev == "" {
		switch {
		case strings.Contains(group, "critical"):
			sev = profile.SeverityCritical
		case strings.Contains(group, "warning"):
			sev = profile.SeverityWarning
		default:
			sev = firstNonEmpty(strings.ToLower(tags["severity"]), profile.SeverityWarning)
		}
	}
	starts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(k.Date))
	if err != nil {
		return sourceNotification{}, &profile.FieldError{Field: "date", Message: "must be an RFC 3339 time ({{date}}), got " + quoteShort(k.Date)}
	}
	labels := map[string]string{"source": "kibana", "kibana_rule_id": k.RuleID}
	for t, v := range tags {
		if t != "" {
			labels["kibana_tag_"+t] = v
		}
	}
	for key, v := range map[string]string{"kibana_alert_id": k.AlertID, "kibana_action_group": firstNonEmpty(k.ActionGroupName, k.ActionGroup),
		"kibana_space": k.SpaceID, "environment": k.Environment} {
		if v != "" {
			labels[key] = truncateUTF8(v, 1024)
		}
	}
	m := map[string]any{
		"rule":        k.RuleName,
		"message":     firstNonEmpty(k.Reason, k.RuleName),
		"severity":    sev,
		"application": firstNonEmpty(k.Service, tags["service"], tags["application"], "kibana"),
		"instance":    k.Host,
		"fingerprint": fp,
		"startsAt":    starts,
		"labels":      labels,
		"traceId":     k.TraceID,
	}
	if v := strings.TrimSpace(k.Value); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m["values"] = map[string]float64{"value": f}
		} else {
			m["valueString"] = truncateUTF8(v, profile.MaxValueStringBytes)
		}
	}
	var links []profile.Link
	for _, l := range []profile.Link{{Name: "alert", URL: k.AlertURL}, {Name: "source", URL: k.ViewInAppURL}} {
		if profile.ValidLinkURL(l.URL) {
			links = append(links, l)
		}
	}
	if links != nil {
		m["links"] = links
	}
	al, err := toSourceAlert(m, map[string]string{
		"rule": "rule_name", "message": "reason", "severity": "severity", "application": "service",
		"instance": "host", "startsAt": "date", "labels": "rule_tags", "traceId": "trace_id",
	})
	if err != nil {
		return sourceNotification{}, err
	}
	n.Firing = []*profile.Alert{al}
	return n, nil
}
