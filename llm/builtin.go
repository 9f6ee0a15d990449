package llm

import (
	"context"
	"fmt"
	"sort"
)

// BuiltinName is the provider name of the built-in analyst.
const BuiltinName = "builtin"

// ErrBuiltinUnsupported means the built-in analyst has no rules for the task.
var ErrBuiltinUnsupported = fmt.Errorf("the built-in analyst cannot answer this task")

// Answerer answers one kind of structured task without a model.
type Answerer func(ctx context.Context, req Request) (Response, error)

// Builtin is the rule-based analyst as a provider: it answers structured tasks from the facts
// alone, so a role whose LLM links all fail still produces a valid answer. It knows no task
// itself: the package that owns a task kind provides its answerer, and the application
// registers them.
type Builtin struct {
	answerers map[string]Answerer
}

// NewBuiltin returns the built-in analyst answering the given task kinds.
func NewBuiltin(answerers map[string]Answerer) *Builtin {
	b := &Builtin{answerers: map[string]Answerer{}}
	for kind, fn := range answerers {
		b.answerers[kind] = fn
	}
	return b
}

// Kinds lists the task kinds the built-in analyst answers, sorted.
func (b *Builtin) Kinds() []string {
	out := make([]string, 0, len(b.answerers))
	for k := range b.answerers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Complete answers the request's Task with the answerer registered for its kind.
func (b *Builtin) Complete(ctx context.Context, req Request) (Response, error) {
	if req.Task == nil {
		return Response{}, fmt.Errorf("%w: the request carries no structured task", ErrBuiltinUnsupported)
	}
	fn, ok := b.answerers[req.Task.Kind]
	if !ok {
		return Response{}, fmt.Errorf("%w: task kind %q", ErrBuiltinUnsupported, req.Task.Kind)
	}
	return fn(ctx, req)
}
