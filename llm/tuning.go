package llm

import (
	"encoding/json"
	"fmt"
)

// TaskCodeChange asks the role code-tuner for a code change in its JSON schema: an
// explanation and the files it changes, each with its whole new content.
const TaskCodeChange = "code-change"

// CodeChangeTask is the structured input of a code change: the problem and the files shown.
type CodeChangeTask struct {
	Problem string   `json:"problem"`
	Paths   []string `json:"paths"`
}

// CodeChange is the code tuner's answer.
type CodeChange struct {
	Explanation string       `json:"explanation"`
	Files       []FileChange `json:"files"`
}

// FileChange is one file's new content.
type FileChange struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// builtinCodeChange is the built-in analyst's answer: it does not write code, so it proposes
// no change (and no pull request is opened) and says why.
func builtinCodeChange(req Request) (Response, error) {
	if req.Task.CodeChange == nil {
		return Response{}, fmt.Errorf("%w: code-change task without a problem", ErrBuiltinUnsupported)
	}
	b, err := json.Marshal(CodeChange{Files: []FileChange{},
		Explanation: "The built-in analyst does not change code: configure an LLM link for the role code-tuner to get pull requests."})
	if err != nil {
		return Response{}, err
	}
	return Response{Text: string(b), Model: req.Model}, nil
}
