package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/compare"
)

const sha901 = "9f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6"

// githubOptions read checkout-api's deployments from GitHub acme/checkout (production).
var githubOptions = InvestigationOptions{GitHubRepositories: map[string]string{"checkout-api": "acme/checkout"}, GitHubEnvironment: "production"}

// mockInvestigationParts answers the health (error ratio 7.2 % vs 0.5 %), tables and trace parts,
// and Vigil's deployment records.
func mockInvestigationParts(f *investigationFixture, vigil []analyst.Change) {
	f.env.OnActivity(f.acts.RecentChanges, mock.Anything, mock.Anything).Return(vigil, nil)
	f.env.OnActivity(f.acts.CollectHealth, mock.Anything, mock.Anything).Return(activities.HealthResult{Apps: []change.App{{Name: "checkout-api",
		Findings: []compare.Finding{{Metric: "error_ratio", Kind: "TRANSACTION", Verdict: compare.Degraded, CurrentMedian: 0.072,
			Baselines: []compare.BaselineResult{{Name: "1d", Median: 0.005}, {Name: "1w", Median: 0.006}}}}}}}, nil)
	f.env.OnActivity(f.acts.Enrich, mock.Anything, mock.Anything).Return([]change.Enrichment{}, nil)
	f.env.OnActivity(f.acts.ExemplarTrace, mock.Anything, mock.Anything).Return(&analyst.ExemplarTrace{Note: "no trace source is configured (traces)"}, nil)
}

func TestIncidentInvestigationAddsGitHubDeployments(t *testing.T) {
	f, run := investigationEnv(t)
	alert := errorRateAlert(f.start)
	mockInvestigationParts(f, []analyst.Change{
		// The record a GitHub deployment webhook made (ID gh-<repo>-<id>, version the commit).
		{ID: "gh-acme-checkout-901", Version: sha901, At: alert.StartsAt.Add(-3 * time.Hour), Status: "done", State: "STABLE", Checkpoint: "+1h"},
		// A release system's record whose version is a commit.
		{ID: "2026.12.02-2", Version: "5e6f7a8", At: alert.StartsAt.Add(-2 * time.Hour), Status: "watching", State: "STABLE", Checkpoint: "+1h"},
	})
	var req activities.GitHubChangesRequest
	f.env.OnActivity(f.acts.GitHubChanges, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.GitHubChangesRequest) ([]analyst.Change, error) {
		req = in
		return []analyst.Change{
			{ID: "gh-acme-checkout-906", Version: "v2.4.1 3f2a9c1", SHA: "3f2a9c1d0e5b7a8c9d0e1f2a3b4c5d6e7f8a9b0c", Source: analyst.SourceGitHub,
				At: alert.StartsAt.Add(-4 * time.Minute), Status: "success", Description: "checkout-api 2.4.1"},
			{ID: "gh-acme-checkout-905", Version: "v2.4.0 5e6f7a8", SHA: "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f", Source: analyst.SourceGitHub,
				At: alert.StartsAt.Add(-2 * time.Hour), Status: "success"},
			{ID: "gh-acme-checkout-901", Version: "v2.3.9 9f1e2d3", SHA: sha901, Source: analyst.SourceGitHub,
				At: alert.StartsAt.Add(-3 * time.Hour), Status: "success"},
		}, nil
	})

	res := run(IncidentInput{Alert: alert, Client: "test", Investigation: githubOptions})
	require.Equal(t, IncidentCompleted, res.Status)
	t.Log(res.Report)
	require.Equal(t, "acme/checkout", req.Repository)
	require.Equal(t, "production", req.Environment)
	require.Equal(t, alert.StartsAt.Add(-6*time.Hour), req.From, "the same look-back as Vigil's records")

	inv := f.saved[len(f.saved)-1].Details.Investigation
	require.Empty(t, inv.Failed)
	require.Equal(t, "acme/checkout", inv.GitHub)
	var ids []string
	for _, ch := range inv.Changes {
		ids = append(ids, ch.ID)
	}
	require.Equal(t, []string{"gh-acme-checkout-906", "2026.12.02-2", "gh-acme-checkout-901"}, ids,
		"a deployment seen both ways counts once, as Vigil's record (by ID, or by a version that is its commit); newest first")
	require.Equal(t, "STABLE", inv.Changes[2].State)

	summary := strings.SplitN(res.Report, "\n\n", 2)[0]
	require.Contains(t, summary, "started 4 minutes after deployment gh-acme-checkout-906 (checkout-api v2.4.1 3f2a9c1)")
	require.Contains(t, summary, "Most likely cause: the deployment gh-acme-checkout-906")
	require.Contains(t, res.Report, "(GitHub acme/checkout, state success: checkout-api 2.4.1; no verdict yet)")
	require.Contains(t, res.Report, "Review deployment gh-acme-checkout-906 (checkout-api v2.4.1 3f2a9c1) (GitHub acme/checkout, commit 3f2a9c1d0e5b7a8c9d0e1f2a3b4c5d6e7f8a9b0c)")
	require.Contains(t, res.Report, "(Vigil's records and GitHub acme/checkout)")

	ko := analyst.WriteInvestigated(&alert, inv, "ko")
	require.Contains(t, ko.Summary, "가장 유력한 원인은 배포 gh-acme-checkout-906")
	require.Contains(t, strings.Join(ko.Analysis, "\n"), "GitHub acme/checkout, 상태 success")
}

func TestIncidentInvestigationGitHubDownIsPartial(t *testing.T) {
	f, run := investigationEnv(t)
	alert := errorRateAlert(f.start)
	mockInvestigationParts(f, []analyst.Change{})
	calls := 0
	f.env.OnActivity(f.acts.GitHubChanges, mock.Anything, mock.Anything).Return(func(context.Context, activities.GitHubChangesRequest) ([]analyst.Change, error) {
		calls++
		return nil, errors.New("ghclient: HTTP 502: list deployments of acme/checkout: Bad Gateway (retryable)")
	})

	res := run(IncidentInput{Alert: alert, Client: "test", Investigation: githubOptions})
	require.Equal(t, IncidentCompleted, res.Status, "GitHub down never fails the incident")
	t.Log(res.Report)
	require.Equal(t, 3, calls, "retried within its budget")
	inv := f.saved[len(f.saved)-1].Details.Investigation
	require.Len(t, inv.Failed, 1)
	require.Equal(t, analyst.PartGitHub, inv.Failed[0].Part)
	require.Contains(t, inv.Failed[0].Error, "HTTP 502")
	summary := strings.SplitN(res.Report, "\n\n", 2)[0]
	require.Contains(t, summary, "error ratio 7.2 % vs 0.5 % a day ago and 0.6 % a week ago", "the other parts stand")
	require.Contains(t, summary, "Vigil recorded no deployment of checkout-api in the 6 h before the alert (GitHub acme/checkout could not be read)")
	require.Contains(t, res.Report, "GitHub could not be read: the deployments of acme/checkout are missing")
	require.Contains(t, res.Report, "Re-run the investigation once the GitHub deployments can be read.")
	ko := analyst.WriteInvestigated(&alert, inv, "ko")
	require.Contains(t, ko.Summary, "GitHub acme/checkout은(는) 읽지 못했습니다")
}

func TestIncidentInvestigationGitHubOutOfTime(t *testing.T) {
	f, run := investigationEnv(t)
	alert := errorRateAlert(f.start)
	mockInvestigationParts(f, []analyst.Change{{ID: "2026.12.02-3", Version: "2.4.1", At: alert.StartsAt.Add(-20 * time.Minute), Status: "watching"}})
	var budget, perAttempt time.Duration
	f.env.OnActivity(f.acts.GitHubChanges, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.GitHubChangesRequest) ([]analyst.Change, error) {
		info := activity.GetInfo(ctx)
		budget, perAttempt = info.ScheduleToCloseTimeout, info.StartToCloseTimeout
		return nil, context.DeadlineExceeded // GitHub never answers
	})

	res := run(IncidentInput{Alert: alert, Client: "test", Investigation: githubOptions})
	require.Equal(t, IncidentCompleted, res.Status)
	inv := f.saved[len(f.saved)-1].Details.Investigation
	require.Len(t, inv.Failed, 1)
	require.Equal(t, analyst.PartGitHub, inv.Failed[0].Part)
	require.Contains(t, inv.Failed[0].Error, "deadline exceeded")
	require.Equal(t, time.Minute, budget, "its own time budget")
	require.Equal(t, 30*time.Second, perAttempt)
	require.Contains(t, res.Report, "Most likely cause: the deployment 2026.12.02-3", "Vigil's own record still names the cause")
	require.Contains(t, res.Report, "GitHub could not be read")
}

func TestIncidentInvestigationAsksGitHubOnlyForConfiguredApplications(t *testing.T) {
	f, run := investigationEnv(t)
	alert := errorRateAlert(f.start)
	alert.Application = "payment-api"
	mockInvestigationParts(f, []analyst.Change{})
	called := false
	f.env.OnActivity(f.acts.GitHubChanges, mock.Anything, mock.Anything).Return(func(context.Context, activities.GitHubChangesRequest) ([]analyst.Change, error) {
		called = true
		return nil, nil
	})
	res := run(IncidentInput{Alert: alert, Client: "test", Investigation: githubOptions})
	require.Equal(t, IncidentCompleted, res.Status)
	require.False(t, called)
	inv := f.saved[len(f.saved)-1].Details.Investigation
	require.Empty(t, inv.GitHub)
	require.Contains(t, res.Report, "Vigil recorded no deployment of payment-api in the 6 h before the alert")
}

func TestMergeChanges(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	vigil := []analyst.Change{{ID: "rel-1", Version: "1.0.1", At: at}, {ID: "rel-2", Version: "ABCDEF1", At: at.Add(-time.Hour)}}
	gh := []analyst.Change{
		{ID: "gh-a-b-1", SHA: "1.0.1" + strings.Repeat("0", 35), At: at.Add(time.Minute)}, // a version that is not hex is no commit
		{ID: "gh-a-b-2", SHA: "abcdef1234" + strings.Repeat("0", 30), At: at.Add(-time.Hour)},
		{ID: "rel-1", At: at},
	}
	var ids []string
	for _, c := range mergeChanges(vigil, gh) {
		ids = append(ids, c.ID)
	}
	require.Equal(t, []string{"gh-a-b-1", "rel-1", "rel-2"}, ids)
	require.Empty(t, mergeChanges(nil, nil))
}
