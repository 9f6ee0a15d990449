package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/depstatus"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/workflows"
)

// wireTuning builds the code-tuning activities: the store, and GitHub access
// (code_tuning.github) whose results the dependency status records.
func wireTuning(cfg *config.Config, st store.Store, deps *depstatus.Registry) (*activities.Tuning, error) {
	tu := &activities.Tuning{Store: st}
	t := cfg.CodeTuning
	if t.Repository == "" {
		return tu, nil
	}
	token, err := cfg.Secret(t.GitHub.TokenEnv, t.GitHub.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("code_tuning.github.token: %w", err)
	}
	gh, err := ghclient.New(ghclient.Config{Token: token, APIURL: t.GitHub.APIURL})
	if err != nil {
		return nil, fmt.Errorf("code_tuning.github: %w", err)
	}
	tu.GitHub = statusRepo{gh, deps.Add("github", "github", "code_tuning.github", nil)}
	return tu, nil
}

// tuningInput is the input of the configured code-tuning runs.
func tuningInput(cfg *config.Config) workflows.TuningInput {
	return workflows.TuningInput{Repository: cfg.CodeTuning.Repository, Base: cfg.CodeTuning.BaseBranch,
		MaxProblems: cfg.CodeTuning.MaxProblems, Client: "code-tuning"}
}

// ensureTuningSchedule creates the nightly code-tuning schedule under its fixed ID, or brings an
// existing one up to the configuration; overlapping runs are skipped.
func ensureTuningSchedule(ctx context.Context, c client.Client, cfg *config.Config, logger *slog.Logger) error {
	if cfg.CodeTuning.Repository == "" {
		// Turned off: a schedule left from an earlier configuration must not run on.
		if err := c.ScheduleClient().GetHandle(ctx, workflows.TuningScheduleID).Delete(ctx); err == nil {
			logger.Info("code-tuning schedule deleted (code_tuning.repository is empty)")
		}
		return nil
	}
	spec := client.ScheduleSpec{CronExpressions: []string{cfg.CodeTuning.Schedule}}
	action := &client.ScheduleWorkflowAction{ID: "code-tuning", Workflow: workflows.CodeTuningWorkflow,
		Args: []any{tuningInput(cfg)}, TaskQueue: cfg.Temporal.TaskQueue, WorkflowRunTimeout: 6 * time.Hour}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: workflows.TuningScheduleID, Spec: spec, Action: action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = c.ScheduleClient().GetHandle(ctx, workflows.TuningScheduleID).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				s.Spec, s.Action = &spec, action
				if s.Policy != nil {
					s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				}
				return &client.ScheduleUpdate{Schedule: &s}, nil
			},
		})
	}
	if err != nil {
		return fmt.Errorf("code-tuning schedule: %w", err)
	}
	logger.Info("code-tuning schedule ready", "id", workflows.TuningScheduleID, "cron", cfg.CodeTuning.Schedule,
		"repository", cfg.CodeTuning.Repository)
	return nil
}
