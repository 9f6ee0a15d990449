package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/tuning"
)

// TuningRole is the role that proposes code changes.
const TuningRole = "code-tuner"

// TuningScheduleID is the fixed ID of the nightly code-tuning schedule.
const TuningScheduleID = "vigil-code-tuning"

// TuningInput starts a CodeTuningWorkflow.
type TuningInput struct {
	Repository  string `json:"repository"` // owner/name
	Base        string `json:"base"`       // the preset branch the code is read from and PRs target
	MaxProblems int    `json:"maxProblems,omitempty"`
	Client      string `json:"client,omitempty"`
}

// TuningResult is one problem's outcome.
type TuningResult struct {
	Problem     tuning.Problem        `json:"problem"`
	Status      string                `json:"status"` // pr-opened, no-change, no-source, failed
	Files       []string              `json:"files,omitempty"`
	Explanation string                `json:"explanation,omitempty"`
	PullRequest *ghclient.PullRequest `json:"pullRequest,omitempty"`
	Error       string                `json:"error,omitempty"`
}

// TuningState is a code-tuning run's progress and outcome (QueryTuning).
type TuningState struct {
	Input   TuningInput    `json:"input"`
	Status  string         `json:"status"` // running, done
	Results []TuningResult `json:"results"`
}

// QueryTuning is the code-tuning workflow's query.
const QueryTuning = "tuning"

// CodeTuningWorkflow is the nightly code-tuning agent:
//  1. it picks the worst problems of the recent incidents (the slowest SQL, the most frequent
//     errors with a stack trace);
//  2. for each, it reads the files the problem points at (span names, stack frames) from the
//     preset branch;
//  3. the role code-tuner proposes the change as whole new file contents (JSON schema);
//  4. a change becomes a pull request on a branch named after the problem — opened once, so a
//     retry or the next night's run finds it still open; the person in charge reviews and merges.
//
// A problem that fails does not stop the others; the built-in analyst proposes no change.
func CodeTuningWorkflow(ctx workflow.Context, in TuningInput) (TuningState, error) {
	st := TuningState{Input: in, Status: "running", Results: []TuningResult{}}
	if err := workflow.SetQueryHandler(ctx, QueryTuning, func() (TuningState, error) { return st, nil }); err != nil {
		return st, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrKind.ValueSet("code-tuning"), SearchAttrState.ValueSet("running"))
	var gw *activities.Gateway
	var tu *activities.Tuning
	lactx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrTypeRepoRejected}},
	})
	if in.Base == "" {
		in.Base = "main"
	}

	var problems []tuning.Problem
	if err := workflow.ExecuteActivity(actx, tu.TuningProblems, in.MaxProblems).Get(ctx, &problems); err != nil {
		return st, err
	}
	var role *roles.Role
	for _, p := range problems {
		r := TuningResult{Problem: p}
		func() {
			var src activities.Sources
			if err := workflow.ExecuteActivity(actx, tu.ReadSources, activities.SourceRequest{
				Repository: in.Repository, Branch: in.Base, Hints: p.Hints}).Get(ctx, &src); err != nil {
				r.Status, r.Error = "failed", errMessage(err)
				return
			}
			if len(src.Files) == 0 {
				r.Status = "no-source"
				r.Explanation = fmt.Sprintf("no file in %s@%s matches %v", in.Repository, in.Base, p.Hints)
				return
			}
			if role == nil {
				var rr roles.Role
				if err := workflow.ExecuteLocalActivity(lactx, gw.ResolveRole, TuningRole).Get(ctx, &rr); err != nil {
					r.Status, r.Error = "failed", errMessage(err)
					return
				}
				role = &rr
			}
			var prompt strings.Builder
			prompt.WriteString("PROBLEM\n" + p.Detail + "\n")
			paths := make([]string, 0, len(src.Files))
			for _, f := range src.Files {
				paths = append(paths, f.Path)
				prompt.WriteString("\nFILE " + f.Path + "\n" + f.Content + "\n")
			}
			answer, err := CallRole(ctx, RoleCallInput{
				Role: *role, Client: in.Client, Subject: "tuning/" + p.Key,
				Messages: []llm.Message{{Role: "user", Content: prompt.String()}},
				Task:     &llm.Task{Kind: tuning.TaskChange, Data: tuning.Task{Problem: p.Detail, Paths: paths}},
			})
			if err != nil {
				r.Status, r.Error = "failed", errMessage(err)
				return
			}
			var change tuning.Change
			if err := workflow.ExecuteLocalActivity(lactx, tu.ParseCodeChange, answer.Text).Get(ctx, &change); err != nil {
				r.Status, r.Error = "failed", errMessage(err)
				return
			}
			r.Explanation = change.Explanation
			var files []tuning.FileChange
			for _, f := range change.Files {
				for _, shown := range src.Files {
					// Only files it was shown, and only when they change.
					if f.Path == shown.Path && f.Content != shown.Content && strings.TrimSpace(f.Content) != "" {
						files = append(files, f)
					}
				}
			}
			if len(files) == 0 {
				r.Status = "no-change"
				return
			}
			for _, f := range files {
				r.Files = append(r.Files, f.Path)
			}
			body := fmt.Sprintf("%s\n\n**Problem** (%s, %s)\n\n~~~~~~~~\n%s\n~~~~~~~~\n\nProposed by Vigil's code-tuning agent (%s/%s). Review before merging.",
				change.Explanation, p.Kind, p.Application, strings.ReplaceAll(p.Detail, "~~~~~~~~", "~ ~ ~ ~"), answer.Provider, answer.Model)
			title := "vigil: " + p.Title
			if r := []rune(title); len(r) > 200 {
				title = string(r[:199]) + "…"
			}
			var pr ghclient.PullRequest
			if err := workflow.ExecuteActivity(actx, tu.OpenPullRequest, activities.PullRequestRequest{
				Repository: in.Repository, Base: in.Base, Branch: "vigil/tune-" + p.Key,
				Title: title, Body: body, Files: files,
			}).Get(ctx, &pr); err != nil {
				r.Status, r.Error = "failed", errMessage(err)
				return
			}
			r.Status, r.PullRequest = "pr-opened", &pr
		}()
		st.Results = append(st.Results, r)
	}
	st.Status = "done"
	_ = workflow.UpsertTypedSearchAttributes(ctx, SearchAttrState.ValueSet("done"))
	return st, nil
}
