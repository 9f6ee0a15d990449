package llm

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigil-ops/vigil/compare"
)

// TaskChangeVerdict asks for the change-tracking verdict in the JSON schema of the role
// change-tracker (MISSION §4): per application name, applicationId, state, metric, comment; plus
// the overall state and comment.
const TaskChangeVerdict = "change-verdict"

// ChangeTask is the structured input of a change verdict: each application's findings from the
// comparison engine.
type ChangeTask struct {
	Deployment string      `json:"deployment"`
	Checkpoint string      `json:"checkpoint"`
	Apps       []ChangeApp `json:"apps"`
}

// ChangeApp is one application's findings.
type ChangeApp struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Findings []compare.Finding `json:"findings"`
}

// ChangeVerdict is the change-tracker's answer.
type ChangeVerdict struct {
	Applications []AppVerdict `json:"applications"`
	State        string       `json:"state"`
	Comment      string       `json:"comment"`
}

// AppVerdict is one application's part of a ChangeVerdict.
type AppVerdict struct {
	Name          string   `json:"name"`
	ApplicationID string   `json:"applicationId"`
	State         string   `json:"state"`
	Metric        []string `json:"metric"`
	Comment       string   `json:"comment"`
}

var stateRank = map[string]int{"STABLE": 0, "MOSTLY_STABLE": 1, "UNSTABLE": 2}

// WriteChangeVerdict is the built-in analyst's change verdict: the comparison engine's roll-up per
// application, the findings at fault as the comment, the worst application's state overall.
func WriteChangeVerdict(t ChangeTask) ChangeVerdict {
	v := ChangeVerdict{State: "STABLE", Applications: []AppVerdict{}}
	var unstable []string
	for _, app := range t.Apps {
		state, faulty := compare.Application(app.Findings)
		av := AppVerdict{Name: app.Name, ApplicationID: app.ID, State: state, Metric: faulty}
		if av.Metric == nil {
			av.Metric = []string{}
		}
		var notes []string
		for _, f := range app.Findings {
			if f.Verdict != compare.Stable && f.Verdict != compare.Improved {
				notes = append(notes, f.Summary)
			}
		}
		if len(notes) == 0 {
			av.Comment = "No metric changed significantly against the same window a day and a week earlier."
		} else {
			if len(notes) > 3 {
				notes = notes[:3]
			}
			av.Comment = strings.Join(notes, "; ")
		}
		if stateRank[state] > stateRank[v.State] {
			v.State = state
		}
		if state != "STABLE" {
			unstable = append(unstable, fmt.Sprintf("%s (%s)", app.Name, state))
		}
		v.Applications = append(v.Applications, av)
	}
	if len(unstable) == 0 {
		v.Comment = "All applications are stable relative to yesterday and last week."
	} else {
		v.Comment = "Needs attention: " + strings.Join(unstable, ", ") + "."
	}
	return v
}

func builtinChangeVerdict(req Request) (Response, error) {
	if req.Task.Change == nil {
		return Response{}, fmt.Errorf("%w: change task without findings", ErrBuiltinUnsupported)
	}
	b, err := json.Marshal(WriteChangeVerdict(*req.Task.Change))
	if err != nil {
		return Response{}, err
	}
	return Response{Text: string(b), Model: req.Model}, nil
}
