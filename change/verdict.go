package change

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigil-ops/vigil/compare"
	"github.com/vigil-ops/vigil/llm"
)

// TaskVerdict asks for the change-tracking verdict in the JSON schema of the role
// change-tracker (MISSION §4): per application name, applicationId, state, metric, comment; plus
// the overall state and comment.
const TaskVerdict = "change-verdict"

// Task is the structured input of a change verdict: each application's findings from the
// comparison engine.
type Task struct {
	Deployment string `json:"deployment"`
	Checkpoint string `json:"checkpoint"`
	Apps       []App  `json:"apps"`
}

// App is one application's findings.
type App struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Findings []compare.Finding `json:"findings"`
}

// Verdict is the change-tracker's answer.
type Verdict struct {
	Applications []AppVerdict `json:"applications"`
	State        string       `json:"state"`
	Comment      string       `json:"comment"`
}

// AppVerdict is one application's part of a Verdict.
type AppVerdict struct {
	Name          string   `json:"name"`
	ApplicationID string   `json:"applicationId"`
	State         string   `json:"state"`
	Metric        []string `json:"metric"`
	Comment       string   `json:"comment"`
	// EngineState is the comparison engine's state for the application, when a model judged.
	EngineState string `json:"engineState,omitempty"`
	// Disagreement says how the model's answer differed from the engine's numbers and what was
	// kept (see Bound); empty when they agree.
	Disagreement string `json:"disagreement,omitempty"`
}

var stateRank = map[string]int{"STABLE": 0, "MOSTLY_STABLE": 1, "UNSTABLE": 2}

// engineApp is the engine's verdict for one application: its roll-up and a comment from the
// findings.
func engineApp(app App) AppVerdict {
	j := compare.Judge(app.Findings)
	av := AppVerdict{Name: app.Name, ApplicationID: app.ID, State: j.State, Metric: j.Faulty}
	if av.Metric == nil {
		av.Metric = []string{}
	}
	var notes []string
	for _, f := range app.Findings {
		switch f.Verdict {
		case compare.Stable, compare.Improved, compare.NotCollected, compare.New:
		default:
			notes = append(notes, f.Summary)
		}
	}
	if len(notes) > 3 {
		notes = notes[:3]
	}
	if !j.Judged {
		if j.Collected {
			notes = append(notes, "not judged: no request metric has data both now and a day or a week earlier (a new service?)")
		} else {
			notes = append(notes, "not judged: no data now, a day or a week earlier (metrics not collected for this application, or a new service)")
		}
	}
	if len(notes) == 0 {
		notes = append(notes, "No metric changed significantly and materially against the same window a day and a week earlier")
	}
	if len(j.New) > 0 && j.Judged {
		notes = append(notes, "new, not judged: "+strings.Join(j.New, ", "))
	}
	if len(j.NotCollected) > 0 && j.Collected {
		notes = append(notes, "not collected (not held against it): "+strings.Join(j.NotCollected, ", "))
	}
	av.Comment = strings.Join(notes, "; ") + "."
	return av
}

// Write is the built-in analyst's change verdict: the comparison engine's roll-up per
// application, the findings at fault as the comment (with the metrics not collected, and new
// ones, named), the worst application's state overall.
func Write(t Task) Verdict {
	v := Verdict{State: "STABLE", Applications: []AppVerdict{}}
	for _, app := range t.Apps {
		v.Applications = append(v.Applications, engineApp(app))
	}
	v.State, v.Comment = overall(v.Applications)
	return v
}

// overall is the worst application state and the overall comment.
func overall(apps []AppVerdict) (state, comment string) {
	state = "STABLE"
	var unstable []string
	for _, a := range apps {
		if stateRank[a.State] > stateRank[state] {
			state = a.State
		}
		if a.State != "STABLE" {
			unstable = append(unstable, fmt.Sprintf("%s (%s)", a.Name, a.State))
		}
	}
	if len(unstable) == 0 {
		return state, "All applications are stable relative to yesterday and last week."
	}
	return state, "Needs attention: " + strings.Join(unstable, ", ") + "."
}

// Bound keeps a model's change verdict within what the numbers show. For every application of
// the task the final state is the worse of the model's and the engine's: an application with a
// significant, material regression, or with missing or gone data, is never called healthier
// than the engine calls it, whatever the model answers — while a model may judge more severely
// (it sees the same facts and may know better). The metric kinds are the union of both. Where
// they differ the engine's state and the disagreement are kept on the application, and an
// application the model left out is the engine's verdict. Applications the task does not hold
// are dropped. The model's comments are kept; the overall state is recomputed.
func Bound(t Task, model Verdict) Verdict {
	out := Verdict{Applications: []AppVerdict{}, Comment: model.Comment}
	var overridden []string
	for _, app := range t.Apps {
		eng := engineApp(app)
		var m *AppVerdict
		for i := range model.Applications {
			if model.Applications[i].Name == app.Name {
				m = &model.Applications[i]
				break
			}
		}
		if m == nil {
			eng.EngineState = eng.State
			eng.Disagreement = "the model did not judge this application; the engine's verdict stands"
			overridden = append(overridden, app.Name)
			out.Applications = append(out.Applications, eng)
			continue
		}
		av := *m
		av.ApplicationID = app.ID
		av.EngineState = eng.State
		if _, known := stateRank[av.State]; !known {
			av.State = "UNSTABLE" // cannot happen past the schema; never read as healthy
		}
		av.Metric = unionKinds(m.Metric, eng.Metric)
		switch {
		case stateRank[av.State] < stateRank[eng.State]:
			av.Disagreement = fmt.Sprintf("the model answered %s, but the numbers say %s: %s", av.State, eng.State, eng.Comment)
			av.State = eng.State
			overridden = append(overridden, app.Name)
		case stateRank[av.State] > stateRank[eng.State]:
			av.Disagreement = fmt.Sprintf("the model judged %s where the engine's numbers alone say %s; the model's verdict is kept", av.State, eng.State)
		}
		out.Applications = append(out.Applications, av)
	}
	state, comment := overall(out.Applications)
	out.State = state
	if out.Comment == "" {
		out.Comment = comment
	}
	if len(overridden) > 0 {
		out.Comment += " (The numbers override the model for " + strings.Join(overridden, ", ") + ".)"
	}
	return out
}

// unionKinds is a's kinds followed by b's that a lacks.
func unionKinds(a, b []string) []string {
	out := append([]string{}, a...)
	for _, k := range b {
		found := false
		for _, x := range out {
			if x == k {
				found = true
			}
		}
		if !found {
			out = append(out, k)
		}
	}
	return out
}

// Answer is the built-in analyst's answerer for TaskVerdict.
func Answer(_ context.Context, req llm.Request) (llm.Response, error) {
	var t Task
	if err := req.Task.Decode(&t); err != nil {
		return llm.Response{}, err
	}
	b, err := json.Marshal(Write(t))
	if err != nil {
		return llm.Response{}, err
	}
	return llm.Response{Text: string(b), Model: req.Model}, nil
}
