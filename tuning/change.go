package tuning

import (
	"context"
	"encoding/json"

	"github.com/vigil-ops/vigil/llm"
)

// TaskChange asks the role code-tuner for a code change in its JSON schema: an
// explanation and the files it changes, each with its whole new content.
const TaskChange = "code-change"

// Task is the structured input of a code change: the problem and the files shown.
type Task struct {
	Problem string   `json:"problem"`
	Paths   []string `json:"paths"`
}

// Change is the code tuner's answer.
type Change struct {
	Explanation string       `json:"explanation"`
	Files       []FileChange `json:"files"`
}

// FileChange is one file's new content.
type FileChange struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Answer is the built-in analyst's answerer for TaskChange: it does not write code, so it
// proposes no change (and no pull request is opened) and says why.
func Answer(_ context.Context, req llm.Request) (llm.Response, error) {
	var t Task
	if err := req.Task.Decode(&t); err != nil {
		return llm.Response{}, err
	}
	b, err := json.Marshal(Change{Files: []FileChange{},
		Explanation: "The built-in analyst does not change code: configure an LLM link for the role code-tuner to get pull requests."})
	if err != nil {
		return llm.Response{}, err
	}
	return llm.Response{Text: string(b), Model: req.Model}, nil
}
