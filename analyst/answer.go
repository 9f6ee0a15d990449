package analyst

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/profile"
)

// TaskIncidentReport asks for the four-section incident report.
const TaskIncidentReport = "incident-report"

// IncidentTask is the structured input of an incident report.
type IncidentTask struct {
	Alert    *profile.Alert `json:"alert"`
	Facts    []Fact         `json:"facts"`
	Language string         `json:"language"`
	// Investigation is what Vigil found about the alert's application (recent deployments,
	// metrics against their baselines, endpoint tables); nil when it was not investigated.
	Investigation *Investigation `json:"investigation,omitempty"`
}

// Answer is the built-in analyst's answerer for TaskIncidentReport: the report written from
// the profile's facts, or from the investigation when the alert carries no profile.
func Answer(_ context.Context, req llm.Request) (llm.Response, error) {
	var t IncidentTask
	if err := req.Task.Decode(&t); err != nil {
		return llm.Response{}, err
	}
	if t.Alert == nil {
		return llm.Response{}, fmt.Errorf("%w: incident task without alert", llm.ErrBuiltinUnsupported)
	}
	r := Write(t.Alert, t.Facts, t.Language)
	if t.Alert.Profile == nil && t.Investigation != nil {
		// No profile: the report rests on the investigation (changes, metrics, endpoints). The
		// built-in is the chain's last link: a bug in the investigation's wording must not
		// leave the incident without a report, so it falls back to the report without it.
		if inv, ok := writeInvestigatedSafely(t.Alert, t.Investigation, t.Language); ok {
			r = inv
		}
	}
	text := r.Render()
	return llm.Response{Text: text, Model: req.Model, OutputTokens: int64(len(strings.Fields(text)))}, nil
}

// writeInvestigatedSafely is WriteInvestigated, reporting false instead of panicking.
func writeInvestigatedSafely(alert *profile.Alert, inv *Investigation, lang string) (r Report, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("analyst: the investigated report could not be written; the report goes without the investigation",
				"application", inv.Application, "panic", p, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	return WriteInvestigated(alert, inv, lang), true
}
