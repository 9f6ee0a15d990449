package activities

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/ghclient/githubtest"
)

// githubChangesSetup is a local GitHub (its REST wire format) holding deployments of acme/checkout
// around an alert at `at`, and activities reading it through ghclient.
func githubChangesSetup(t *testing.T, at time.Time) (*githubtest.Server, *Incident) {
	t.Helper()
	srv := githubtest.New(t, "acme", "checkout", "ghp_inv", map[string]string{"README.md": "x"})
	srv.AddDeployment(githubtest.Deployment{ID: 900, SHA: strings.Repeat("9", 40), Ref: "v2.3.0", Environment: "production",
		CreatedAt: at.Add(-9 * time.Hour), Statuses: []githubtest.DeploymentStatus{{State: "success", CreatedAt: at.Add(-9 * time.Hour)}}})
	srv.AddDeployment(githubtest.Deployment{ID: 901, SHA: "3f2a9c1d0e5b7a8c9d0e1f2a3b4c5d6e7f8a9b0c", Ref: "v2.4.1", Environment: "production",
		Description: "checkout-api 2.4.1", CreatedAt: at.Add(-70 * time.Minute), Statuses: []githubtest.DeploymentStatus{
			{State: "in_progress", CreatedAt: at.Add(-68 * time.Minute)}, {State: "success", CreatedAt: at.Add(-61 * time.Minute)}}})
	srv.AddDeployment(githubtest.Deployment{ID: 902, SHA: strings.Repeat("a", 40), Ref: strings.Repeat("a", 40), Environment: "staging",
		CreatedAt: at.Add(-30 * time.Minute), Statuses: []githubtest.DeploymentStatus{{State: "failure", Description: "smoke test", CreatedAt: at.Add(-28 * time.Minute)}}})
	srv.AddDeployment(githubtest.Deployment{ID: 903, SHA: strings.Repeat("b", 40), Ref: "v2.4.2", Environment: "production",
		CreatedAt: at.Add(2 * time.Hour)}) // after the window
	gh, err := ghclient.New(ghclient.Config{Token: "ghp_inv", APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	a := &Incident{Deployments: gh}
	return srv, a
}

func TestGitHubChangesListsTheRepositorysDeployments(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 3, 14, 0, 0, time.UTC)
	_, a := githubChangesSetup(t, at)
	req := GitHubChangesRequest{Application: "checkout-api", Repository: "acme/checkout", From: at.Add(-6 * time.Hour), To: at.Add(30 * time.Minute)}
	got, err := a.GitHubChanges(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("want the two deployments in the window, got %+v", got)
	}
	fail, ok := got[0], got[1]
	if fail.ID != "gh-acme-checkout-902" || fail.Version != "aaaaaaa" || fail.Status != "failure" || fail.Description != "smoke test" ||
		fail.Source != analyst.SourceGitHub || !fail.At.Equal(at.Add(-30*time.Minute)) {
		t.Errorf("failed deployment (created, never succeeded; its ref is its SHA): %+v", fail)
	}
	if ok.ID != change.GitHubDeploymentID("acme/checkout", 901) || ok.ID != "gh-acme-checkout-901" || ok.Version != "v2.4.1 3f2a9c1" ||
		ok.SHA != "3f2a9c1d0e5b7a8c9d0e1f2a3b4c5d6e7f8a9b0c" || ok.Status != "success" || ok.Description != "checkout-api 2.4.1" ||
		!ok.At.Equal(at.Add(-61*time.Minute)) {
		t.Errorf("deployment that succeeded (it took effect at its success): %+v", ok)
	}

	req.Environment = "production"
	got, err = a.GitHubChanges(ctx, req)
	if err != nil || len(got) != 1 || got[0].ID != "gh-acme-checkout-901" {
		t.Fatalf("environment production: %+v, %v", got, err)
	}
}

func TestGitHubChangesErrors(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 3, 14, 0, 0, time.UTC)
	srv, a := githubChangesSetup(t, at)
	req := GitHubChangesRequest{Application: "checkout-api", Repository: "acme/checkout", From: at.Add(-6 * time.Hour), To: at}
	errType := func(err error) (string, bool, time.Duration) {
		t.Helper()
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) {
			t.Fatalf("want an application error, got %v", err)
		}
		return ae.Type(), ae.NonRetryable(), ae.NextRetryDelay()
	}

	srv.FailNext(1, http.StatusServiceUnavailable)
	_, err := a.GitHubChanges(ctx, req)
	if typ, nonRetryable, _ := errType(err); typ != "RepoUnavailable" || nonRetryable {
		t.Errorf("GitHub down: %s, non-retryable %v", typ, nonRetryable)
	}
	srv.FailNext(1, http.StatusTooManyRequests)
	_, err = a.GitHubChanges(ctx, req)
	if typ, _, delay := errType(err); typ != "RepoUnavailable" || delay != time.Second {
		t.Errorf("429 with Retry-After 1: %s, next retry in %s", typ, delay)
	}
	_, err = a.GitHubChanges(ctx, GitHubChangesRequest{Repository: "acme/nothing", From: req.From, To: req.To})
	if typ, nonRetryable, _ := errType(err); typ != ErrTypeRepoRejected || !nonRetryable {
		t.Errorf("no such repository: %s, non-retryable %v", typ, nonRetryable)
	}
	_, err = a.GitHubChanges(ctx, GitHubChangesRequest{Repository: "checkout"})
	if typ, nonRetryable, _ := errType(err); typ != ErrTypeRepoRejected || !nonRetryable {
		t.Errorf("not owner/name: %s, non-retryable %v", typ, nonRetryable)
	}
	_, err = (&Incident{}).GitHubChanges(ctx, req)
	if typ, nonRetryable, _ := errType(err); typ != ErrTypeRepoRejected || !nonRetryable {
		t.Errorf("not configured: %s, non-retryable %v", typ, nonRetryable)
	}
}
