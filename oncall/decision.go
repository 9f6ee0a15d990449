package oncall

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/vigil-ops/vigil/llm"
)

// TaskDecision asks the role oncall-triager whether to page a person for an incident and
// for the message read out on the call, in its JSON schema: page, severity, message, reason.
const TaskDecision = "page-decision"

// Task is the structured input of a page decision.
type Task struct {
	IncidentID  string `json:"incidentId"`
	Application string `json:"application"`
	Rule        string `json:"rule"`
	Severity    string `json:"severity"` // critical, warning, info
	// Summary is the incident report's summary (or the alert's message).
	Summary string `json:"summary"`
}

// Decision is the triager's answer.
type Decision struct {
	Page     bool   `json:"page"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Reason   string `json:"reason,omitempty"`
}

// urlish matches what does not read well aloud: URLs, paths, hosts with ports.
var urlish = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://\S+|\S+:\d{2,5}\S*`)

// Write is the built-in triager: it pages for critical incidents only, and reads out
// the severity, application, rule and the summary's first sentence in plain words.
func Write(t Task) Decision {
	sev := strings.ToLower(t.Severity)
	switch sev {
	case "critical", "warning", "info":
	default:
		sev = "warning"
	}
	d := Decision{Page: sev == "critical", Severity: sev}
	if d.Page {
		d.Reason = "critical incidents page the person in charge"
	} else {
		d.Reason = sev + " incidents wait for working hours"
	}
	// An address is neither readable aloud nor something to send to a phone service: it is read
	// as "an address", so the sentence around it still reads ("Slow SQL at an address on …").
	summary := strings.TrimSpace(urlish.ReplaceAllString(t.Summary, "an address"))
	if i := strings.IndexAny(summary, ".\n"); i > 0 {
		summary = summary[:i]
	}
	summary = strings.Join(strings.Fields(strings.NewReplacer("_", " ", "-", " ").Replace(summary)), " ")
	app := strings.NewReplacer("-", " ", "_", " ").Replace(t.Application)
	msg := fmt.Sprintf("This is Vigil on-call. A %s incident on %s", sev, app)
	if t.Rule != "" {
		msg += ": " + t.Rule
	}
	msg += "."
	if summary != "" {
		msg += " " + summary + "."
	}
	if r := []rune(msg); len(r) > 560 {
		msg = string(r[:560]) + "…"
	}
	d.Message = msg
	return d
}

// Answer is the built-in analyst's answerer for TaskDecision.
func Answer(_ context.Context, req llm.Request) (llm.Response, error) {
	var t Task
	if err := req.Task.Decode(&t); err != nil {
		return llm.Response{}, err
	}
	b, err := json.Marshal(Write(t))
	if err != nil {
		return llm.Response{}, err
	}
	return llm.Response{Text: string(b), Model: req.Model, OutputTokens: int64(len(strings.Fields(string(b))))}, nil
}
