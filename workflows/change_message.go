package workflows

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/notify"
)

// verdictMessage is a checkpoint's notification: the verdict per application and the data of
// its enrichments, so that people get numbers, not just a sentence. id is the delivery key.
func verdictMessage(d change.Deployment, id string, cp Checkpoint) notify.Message {
	state := "NO VERDICT"
	if cp.Verdict != nil {
		state = cp.Verdict.State
	}
	var b strings.Builder
	b.WriteString(fmt.Sprintf("Deployment %s", d.ID))
	if d.Version != "" {
		b.WriteString(fmt.Sprintf(" (version %s)", d.Version))
	}
	b.WriteString(fmt.Sprintf(", checkpoint %s (%s to %s): %s\n", cp.Label, cp.From.UTC().Format("2006-01-02 15:04"),
		cp.To.UTC().Format("15:04 MST"), state))
	if cp.Error != "" {
		b.WriteString(fmt.Sprintf("The check did not complete: %s\n", cp.Error))
	}
	apps := ""
	if v := cp.Verdict; v != nil {
		if v.Comment != "" {
			b.WriteString(fmt.Sprintf("%s\n", v.Comment))
		}
		b.WriteString("\n")
		for _, a := range v.Applications {
			b.WriteString(fmt.Sprintf("%s (%s): %s", a.Name, a.ApplicationID, a.State))
			if len(a.Metric) > 0 {
				b.WriteString(fmt.Sprintf(" [%s]", strings.Join(a.Metric, ", ")))
			}
			if a.Comment != "" {
				b.WriteString(fmt.Sprintf(" — %s", a.Comment))
			}
			b.WriteString("\n")
			if apps == "" {
				apps = a.Name
			}
		}
	}
	if t := enrichmentText(cp.Enrichments); t != "" {
		b.WriteString("\n" + t)
	}
	severity := "info"
	switch state {
	case "UNSTABLE", "NO VERDICT":
		severity = "critical"
	case "MOSTLY_STABLE":
		severity = "warning"
	}
	return notify.Message{
		IncidentID:  id,
		Title:       fmt.Sprintf("[%s] deployment %s, checkpoint %s", state, d.ID, cp.Label),
		Text:        b.String(),
		Severity:    severity,
		Application: apps,
		Status:      state,
		Data:        checkpointData(d, cp),
		URL:         deploymentPath(d.ID),
	}
}

// checkpointData is the checkpoint for machine readers (the webhook's "data").
func checkpointData(d change.Deployment, cp Checkpoint) any {
	return CheckpointNotice{Deployment: d, Checkpoint: cp}
}

// CheckpointNotice is the structured detail of a checkpoint's notification.
type CheckpointNotice struct {
	Deployment change.Deployment `json:"deployment"`
	Checkpoint Checkpoint        `json:"checkpoint"`
}

// enrichmentText renders the enrichments as plain text: one block per application with each
// table's rows (current window, a day and a week earlier), each series' first, peak and last
// values against a day earlier, and the alerts Alertmanager holds.
func enrichmentText(es []change.Enrichment) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(fmt.Sprintf("%s — data for %s:\n", e.App, strings.Join(e.Kinds, ", ")))
		for _, t := range e.Tables {
			b.WriteString(fmt.Sprintf("  %s (now / a day ago / a week ago):\n", t.Title))
			if len(t.Rows) == 0 {
				b.WriteString("    (none)\n")
			}
			for _, r := range t.Rows {
				b.WriteString(fmt.Sprintf("    %s  %s / %s / %s", labelText(r.Labels), num(r.Current), optNum(r.Day), optNum(r.Week)))
				if r.New {
					b.WriteString("  NEW")
				}
				b.WriteString("\n")
			}
		}
		for _, s := range e.Series {
			if len(s.Current) == 0 {
				b.WriteString(fmt.Sprintf("  %s around the change: no data\n", s.Metric))
				continue
			}
			first, last := s.Current[0], s.Current[len(s.Current)-1]
			peak := first
			for _, p := range s.Current {
				if p.V > peak.V {
					peak = p
				}
			}
			b.WriteString(fmt.Sprintf("  %s around the change (every %s): %s at %s, peak %s at %s, %s at %s",
				s.Metric, s.Step, num(first.V), first.T.UTC().Format("15:04"), num(peak.V), peak.T.UTC().Format("15:04"),
				num(last.V), last.T.UTC().Format("15:04")))
			if n := len(s.Day); n > 0 {
				b.WriteString(fmt.Sprintf(" (a day earlier: %s)", num(s.Day[n-1].V)))
			}
			b.WriteString("\n")
		}
		if len(e.Alerts) > 0 {
			b.WriteString("  Alerts in Alertmanager:\n")
			for _, a := range e.Alerts {
				b.WriteString(fmt.Sprintf("    %s (%s, %s) since %s", a.Name, a.Severity, a.State, a.StartsAt.UTC().Format("2006-01-02 15:04 MST")))
				if a.Summary != "" {
					b.WriteString(fmt.Sprintf(": %s", a.Summary))
				}
				b.WriteString("\n")
			}
		}
		for _, msg := range e.Errors {
			b.WriteString(fmt.Sprintf("  (could not run: %s)\n", msg))
		}
	}
	return b.String()
}

func labelText(l map[string]string) string {
	if len(l) == 0 {
		return "(total)"
	}
	keys := make([]string, 0, len(l))
	// The keys are sorted before use: the order of the map's iteration does not matter.
	//workflowcheck:ignore
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(l))
	for _, k := range keys {
		parts = append(parts, l[k])
	}
	return strings.Join(parts, " ")
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func optNum(v *float64) string {
	if v == nil {
		return "-"
	}
	return num(*v)
}
