package llm

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigil-ops/vigil/analyst"
)

// BuiltinName is the provider name of the built-in analyst.
const BuiltinName = "builtin"

// ErrBuiltinUnsupported means the built-in analyst has no rules for the task.
var ErrBuiltinUnsupported = fmt.Errorf("the built-in analyst cannot answer this task")

// Builtin is the rule-based analyst as a provider: it answers structured tasks from the facts
// alone, so a role whose LLM links all fail still produces a valid answer.
type Builtin struct{}

// Complete answers the request's Task.
func (Builtin) Complete(_ context.Context, req Request) (Response, error) {
	if req.Task == nil {
		return Response{}, fmt.Errorf("%w: the request carries no structured task", ErrBuiltinUnsupported)
	}
	switch req.Task.Kind {
	case TaskIncidentReport:
		t := req.Task.Incident
		if t == nil || t.Alert == nil {
			return Response{}, fmt.Errorf("%w: incident task without alert", ErrBuiltinUnsupported)
		}
		r := analyst.Write(t.Alert, t.Facts, t.Language)
		if t.Alert.Profile == nil && t.Investigation != nil {
			// No profile: the report rests on the investigation (changes, metrics, endpoints).
			r = analyst.WriteInvestigated(t.Alert, t.Investigation, t.Language)
		}
		text := r.Render()
		return Response{Text: text, Model: req.Model, OutputTokens: int64(len(strings.Fields(text)))}, nil
	case TaskChangeVerdict:
		return builtinChangeVerdict(req)
	case TaskPageDecision:
		return builtinPageDecision(req)
	case TaskCodeChange:
		return builtinCodeChange(req)
	default:
		return Response{}, fmt.Errorf("%w: task kind %q", ErrBuiltinUnsupported, req.Task.Kind)
	}
}
