package starter

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/incident"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/workflows"
)

// Defaults of alert-group incidents.
const (
	// DefaultGroupWindow is how long the alerts of one group are collected before the
	// investigation starts. Alertmanager has already waited its group_wait.
	DefaultGroupWindow = 10 * time.Second
	// DefaultIncidentLifetime is how long a group's incident stays open for its resolution.
	DefaultIncidentLifetime = 24 * time.Hour
)

// AlertmanagerPayload is Alertmanager's webhook body (version 4). Grafana's webhook contact
// point sends the same shape as version 1, with orgId, title, state and message at the top and
// values, valueString and links (silence, dashboard, panel, image) on each alert.
type AlertmanagerPayload struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
	// Grafana adds these; accepted and ignored (each alert carries what they summarise).
	OrgID   int    `json:"orgId,omitempty"`
	Title   string `json:"title,omitempty"`
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
}

// AlertmanagerAlert is one alert of the payload.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// Grafana's additions: they become the alert's links and values.
	SilenceURL   string             `json:"silenceURL,omitempty"`
	DashboardURL string             `json:"dashboardURL,omitempty"`
	PanelURL     string             `json:"panelURL,omitempty"`
	ImageURL     string             `json:"imageURL,omitempty"`
	Values       map[string]float64 `json:"values,omitempty"`
	ValueString  string             `json:"valueString,omitempty"`
}

// Payload versions: Alertmanager's webhook sends "4", Grafana's webhook contact point "1".
const (
	amVersion      = "4"
	grafanaVersion = "1"
)

// links are the alert's pages, in report order; empty and malformed URLs are left out (a
// link is an aid, not a reason to refuse the alert).
func (a AlertmanagerAlert) links() []profile.Link {
	var out []profile.Link
	for _, l := range []profile.Link{
		{Name: "source", URL: a.GeneratorURL},
		{Name: "silence", URL: a.SilenceURL},
		{Name: "dashboard", URL: a.DashboardURL},
		{Name: "panel", URL: a.PanelURL},
		{Name: "image", URL: a.ImageURL},
	} {
		if profile.ValidLinkURL(l.URL) {
			out = append(out, l)
		}
	}
	return out
}

// AlertmanagerAccepted is the 202 answer of POST /v1/alerts/alertmanager.
type AlertmanagerAccepted struct {
	WorkflowID string `json:"workflowId"`
	Incident   string `json:"incident"`
	Firing     int    `json:"firing"`
	Resolved   int    `json:"resolved"`
	// Status is "signalled" (the group's incident got the alerts, started if needed) or
	// "no-incident" (only resolved alerts, and no open incident to resolve).
	Status string `json:"status"`
}

// GroupIncidentID names the incident of an Alertmanager group of one sender: every
// notification of the group lands on it while it is open. Group keys such as
// `{}:{alertname="HighCPU"}` repeat across Alertmanagers, so the sender is part of the identity.
func GroupIncidentID(sender, groupKey string) string {
	sum := sha256.Sum256([]byte(sender + "\x00" + groupKey))
	return "incident-group-" + hex.EncodeToString(sum[:8])
}

// DefaultApplicationLabels are the alert labels that name the application, tried in order, when
// alerts.application_label names none (or the alert lacks it).
var DefaultApplicationLabels = []string{"application", "service", "service_name", "app", "job"}

// applicationLabels are the labels tried for an alert's application: the configured one first.
func (a *API) applicationLabels() []string {
	if a.ApplicationLabel == "" {
		return DefaultApplicationLabels
	}
	return append([]string{a.ApplicationLabel}, DefaultApplicationLabels...)
}

func first(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// toAlert turns an Alertmanager alert into Vigil's alert model. A Grafana alert (grafana) whose
// labels name no application is filed under its folder (grafana_folder), else "grafana".
func toAlert(a AlertmanagerAlert, common map[string]string, grafana bool, appLabels []string) (*profile.Alert, error) {
	labels := map[string]string{}
	for k, v := range common {
		labels[k] = v
	}
	for k, v := range a.Labels {
		labels[k] = v
	}
	msg := first(a.Annotations, "summary", "description", "message")
	if msg == "" {
		msg = labels["alertname"]
	}
	sev := strings.ToLower(labels["severity"])
	switch sev {
	case "critical", "warning", "info":
	case "page", "error", "high":
		sev = "critical"
	default:
		sev = "warning"
	}
	out := map[string]any{
		"rule":        labels["alertname"],
		"message":     msg,
		"severity":    sev,
		"application": first(labels, appLabels...),
		"instance":    first(labels, "instance", "pod"),
		"fingerprint": a.Fingerprint,
		"startsAt":    a.StartsAt,
		"labels":      labels,
	}
	if grafana && out["application"] == "" {
		out["application"] = cmp.Or(labels["grafana_folder"], "grafana")
	}
	if len(a.Values) > 0 {
		out["values"] = a.Values
	}
	if a.ValueString != "" {
		out["valueString"] = truncateUTF8(a.ValueString, profile.MaxValueStringBytes)
	}
	if l := a.links(); len(l) > 0 {
		out["links"] = l
	}
	if !a.EndsAt.IsZero() && a.EndsAt.After(a.StartsAt) {
		out["endsAt"] = a.EndsAt
	}
	if t := first(a.Annotations, "trace_id", "traceId"); t != "" {
		out["traceId"] = t
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return profile.ParseAlert(b)
}

// postAlertmanager receives one notification of Alertmanager (or Grafana): it decodes the body,
// checks the group, maps each alert onto Vigil's alert model and signals the group's incident.
// Every field at fault is named at once in one 422.
func (a *API) postAlertmanager(w http.ResponseWriter, r *http.Request, body []byte) {
	p, prob := decodeAlertmanager(body)
	if prob != nil {
		writeProblem(w, *prob)
		return
	}
	if prob := tooManyAlerts(p); prob != nil {
		writeProblem(w, *prob)
		return
	}
	limited := a.limitedLabels()
	probs := checkAlertmanagerGroup(p, limited)
	firing, resolved, alertProbs := a.mapAlertmanagerAlerts(p, limited)
	if probs = append(probs, alertProbs...); len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid Alertmanager payload", Errors: probs})
		return
	}
	a.signalGroup(w, r, p.GroupKey, firing, resolved, "Invalid Alertmanager payload", "set max_alerts in Alertmanager's webhook_config")
}

// decodeAlertmanager decodes the body: not JSON, or data after it, is a 400 (naming the field
// of a value of the wrong type).
func decodeAlertmanager(body []byte) (AlertmanagerPayload, *Problem) {
	var p AlertmanagerPayload
	if err := decodeJSON(body, &p, false); err != nil {
		if errors.Is(err, errTrailingData) {
			prob := trailingProblem(err)
			return p, &prob
		}
		prob := Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			prob.Errors = []ProblemField{{Field: te.Field, Message: fmt.Sprintf("must be %s", te.Type)}}
		}
		return p, &prob
	}
	return p, nil
}

// tooManyAlerts is the 422 of a notification with more alerts than MaxAlertmanagerAlerts, said
// on its own: nothing else of such a body is checked.
func tooManyAlerts(p AlertmanagerPayload) *Problem {
	if n := len(p.Alerts); n > MaxAlertmanagerAlerts {
		return &Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid Alertmanager payload", Errors: []ProblemField{{
			Field: "alerts", Message: fmt.Sprintf("at most %d alerts per notification, got %d (set max_alerts in Alertmanager's webhook_config)", MaxAlertmanagerAlerts, n)}}}
	}
	return nil
}

// limitedLabels are the labels held to the size limit: those Vigil reads, the configured
// application label too.
func (a *API) limitedLabels() []string {
	limited := amValueLabels
	if l := a.ApplicationLabel; l != "" && !slices.Contains(limited, l) {
		limited = append(slices.Clone(limited), l)
	}
	return limited
}

// checkAlertmanagerGroup names what is wrong with the notification as a whole: its version, its
// group key, no alerts, a common label over the size limit.
func checkAlertmanagerGroup(p AlertmanagerPayload, limited []string) []ProblemField {
	var probs []ProblemField
	if p.Version != "" && p.Version != amVersion && p.Version != grafanaVersion {
		probs = append(probs, ProblemField{Field: "version", Message: fmt.Sprintf(
			"version %q is not supported (want 4, Alertmanager's, or 1, Grafana's)", p.Version)})
	}
	if p.GroupKey == "" {
		probs = append(probs, ProblemField{Field: "groupKey", Message: "required"})
	}
	limitFieldTo(&probs, "groupKey", p.GroupKey, MaxGroupKeyBytes)
	if len(p.Alerts) == 0 {
		probs = append(probs, ProblemField{Field: "alerts", Message: "at least one alert is required"})
	}
	for _, k := range limited {
		if v, ok := p.CommonLabels[k]; ok {
			limitField(&probs, "commonLabels."+k, v)
		}
	}
	return probs
}

// mapAlertmanagerAlerts maps the firing alerts onto Vigil's alert model and lists the
// fingerprints of the resolved ones, naming every field at fault (alerts[i]....).
func (a *API) mapAlertmanagerAlerts(p AlertmanagerPayload, limited []string) (firing []*profile.Alert, resolved []string, probs []ProblemField) {
	for i, al := range p.Alerts {
		field := fmt.Sprintf("alerts[%d]", i)
		if al.Fingerprint == "" {
			probs = append(probs, ProblemField{Field: field + ".fingerprint", Message: "required"})
		}
		limitField(&probs, field+".fingerprint", al.Fingerprint)
		switch al.Status {
		case "resolved":
			resolved = append(resolved, al.Fingerprint)
			continue
		case "firing":
		default:
			probs = append(probs, ProblemField{Field: field + ".status", Message: "must be firing or resolved"})
			continue
		}
		n := len(probs)
		for _, k := range limited {
			if v, ok := al.Labels[k]; ok {
				limitField(&probs, field+".labels."+k, v)
			}
		}
		for _, k := range []string{"trace_id", "traceId"} {
			if v, ok := al.Annotations[k]; ok {
				limitField(&probs, field+".annotations."+k, v)
			}
		}
		if len(probs) > n {
			continue
		}
		alert, err := toAlert(al, p.CommonLabels, p.Version == grafanaVersion, a.applicationLabels())
		if err != nil {
			probs = append(probs, alertFieldProblems(field, err)...)
			continue
		}
		firing = append(firing, alert)
	}
	return firing, resolved, probs
}

// alertFieldProblems names the fields of alert field (alerts[i]) at fault in a mapping error,
// by their names in the Alertmanager payload.
func alertFieldProblems(field string, err error) []ProblemField {
	var many profile.FieldErrors
	var one *profile.FieldError
	switch {
	case errors.As(err, &many):
		var probs []ProblemField
		for _, fe := range many {
			probs = append(probs, ProblemField{Field: field + "." + amField(fe.Field), Message: fe.Message})
		}
		return probs
	case errors.As(err, &one):
		return []ProblemField{{Field: field + "." + amField(one.Field), Message: one.Message}}
	default:
		return []ProblemField{{Field: field, Message: err.Error()}}
	}
}

// signalGroup hands one notification of a group to the group's incident: one signal, however
// many alerts it holds, starting the incident when an alert fires and none is open. title and
// hint word the 422 of a notification too large for one signal.
func (a *API) signalGroup(w http.ResponseWriter, r *http.Request, groupKey string, firing []*profile.Alert, resolved []string, title, hint string) {
	// Oldest first, so the first alert of a storm starts the incident.
	sort.SliceStable(firing, func(i, j int) bool { return firing[i].StartsAt.Before(firing[j].StartsAt) })

	// One signal per notification, however many alerts it holds: a storm costs the incident's
	// history one event, not one per alert.
	sig := workflows.AlertsSignal{Resolved: resolved}
	for _, al := range firing {
		sig.Firing = append(sig.Firing, incident.GroupAlertOf(*al))
	}
	if b, _ := json.Marshal(sig); len(b) > MaxSignalBytes {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: title, Errors: []ProblemField{{
			Field: "alerts", Message: fmt.Sprintf("the notification's alerts take %d bytes in the incident's signal; at most %d fit (%s)", len(b), MaxSignalBytes, hint)}}})
		return
	}
	id := GroupIncidentID(clientName(r), groupKey)
	res := AlertmanagerAccepted{WorkflowID: id, Incident: "/v1/incidents/" + id, Firing: len(firing), Resolved: len(resolved), Status: "signalled"}
	if len(firing) > 0 {
		al := firing[0]
		opts := client.StartWorkflowOptions{
			ID:                    id,
			TaskQueue:             a.TaskQueue,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.SearchAttrKind.ValueSet("incident"),
				workflows.SearchAttrApplication.ValueSet(al.Application),
				workflows.SearchAttrRule.ValueSet(al.Rule),
				workflows.SearchAttrSeverity.ValueSet(al.Severity),
			),
		}
		in := workflows.IncidentInput{Alert: *al, Client: clientName(r), GroupKey: groupKey,
			Window: a.GroupWindow, Lifetime: a.IncidentLifetime, Investigation: a.Investigation}
		if _, err := a.Temporal.SignalWithStartWorkflow(r.Context(), id, workflows.SignalAlerts, sig, opts, workflows.IncidentWorkflow, in); err != nil {
			a.Logger.Error("signal-with-start incident", "workflow_id", id, "error", err)
			writeProblem(w, temporalProblem(err, "could not start or signal the incident"))
			return
		}
	} else {
		err := a.Temporal.SignalWorkflow(r.Context(), id, "", workflows.SignalAlerts, sig)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			res.Status = "no-incident"
		case err != nil:
			writeProblem(w, temporalProblem(err, "could not signal the incident"))
			return
		}
	}
	writeJSON(w, http.StatusAccepted, res)
}

// amValueLabels are the labels whose values become an alert's rule, application or instance
// (search attributes and workflow-ID parts; grafana_folder is a Grafana alert's application
// when it names none), checked against MaxNameBytes.
var amValueLabels = []string{"alertname", "severity", "application", "service", "service_name", "app", "job", "instance", "pod", "grafana_folder"}

// amField maps an alert-model field to the Alertmanager payload's name for it.
func amField(f string) string {
	switch f {
	case "rule":
		return "labels.alertname"
	case "application":
		return "labels.application"
	case "message":
		return "annotations.summary"
	}
	return f
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
