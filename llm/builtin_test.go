package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/llm"
)

// TestBuiltinDispatchesByKind: the built-in analyst hands a task to the answerer registered for
// its kind, with the data it was given, and refuses a request without a task or of another kind.
func TestBuiltinDispatchesByKind(t *testing.T) {
	type echo struct {
		Word string `json:"word"`
	}
	b := llm.NewBuiltin(map[string]llm.Answerer{"echo": func(_ context.Context, req llm.Request) (llm.Response, error) {
		var e echo
		if err := req.Task.Decode(&e); err != nil {
			return llm.Response{}, err
		}
		return llm.Response{Text: e.Word, Model: req.Model}, nil
	}})
	require.Equal(t, []string{"echo"}, b.Kinds())

	task := &llm.Task{Kind: "echo", Data: echo{Word: "hello"}}
	resp, err := b.Complete(context.Background(), llm.Request{Model: "m", Task: task})
	require.NoError(t, err)
	require.Equal(t, "hello", resp.Text, "in process")
	// The task travels as JSON (activity inputs): it must come back the same.
	raw, err := json.Marshal(llm.Request{Model: "m", Task: task})
	require.NoError(t, err)
	require.Contains(t, string(raw), `"task":{"kind":"echo","data":{"word":"hello"}}`)
	var req llm.Request
	require.NoError(t, json.Unmarshal(raw, &req))
	resp, err = b.Complete(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, "hello", resp.Text, "after JSON")

	_, err = b.Complete(context.Background(), llm.Request{Model: "m"})
	require.True(t, errors.Is(err, llm.ErrBuiltinUnsupported), err)
	_, err = b.Complete(context.Background(), llm.Request{Model: "m", Task: &llm.Task{Kind: "other"}})
	require.True(t, errors.Is(err, llm.ErrBuiltinUnsupported), err)
	_, err = b.Complete(context.Background(), llm.Request{Model: "m", Task: &llm.Task{Kind: "echo"}})
	require.True(t, errors.Is(err, llm.ErrBuiltinUnsupported), "a task without data: %v", err)
}
