package ghclient_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/ghclient/githubtest"
)

func TestListDeployments(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	srv.AddDeployment(githubtest.Deployment{ID: 1, SHA: strings.Repeat("a", 40), Ref: "v1.0.0", Environment: "production",
		CreatedAt: now.Add(-3 * time.Hour), Statuses: []githubtest.DeploymentStatus{{State: "success", CreatedAt: now.Add(-3 * time.Hour)}}})
	srv.AddDeployment(githubtest.Deployment{ID: 2, SHA: strings.Repeat("b", 40), Ref: "v1.1.0", Environment: "production", Description: "checkout 2.4.1",
		Creator: "alice", CreatedAt: now.Add(-50 * time.Minute), Statuses: []githubtest.DeploymentStatus{
			{State: "queued", CreatedAt: now.Add(-50 * time.Minute)}, {State: "in_progress", CreatedAt: now.Add(-48 * time.Minute)},
			{State: "success", Description: "rolled out", CreatedAt: now.Add(-40 * time.Minute)},
			{State: "inactive", CreatedAt: now.Add(-10 * time.Minute)}}})
	srv.AddDeployment(githubtest.Deployment{ID: 3, SHA: strings.Repeat("c", 40), Ref: "main", Environment: "staging",
		CreatedAt: now.Add(-30 * time.Minute), Statuses: []githubtest.DeploymentStatus{{State: "failure", Description: "health check failed", CreatedAt: now.Add(-25 * time.Minute)}}})
	srv.AddDeployment(githubtest.Deployment{ID: 4, SHA: strings.Repeat("d", 40), Ref: "v1.2.0", Environment: "production", CreatedAt: now.Add(-10 * time.Minute)})

	ds, err := c.ListDeployments(ctx, owner, repo, "", now.Add(-2*time.Hour))
	require.NoError(t, err)
	require.Len(t, ds, 3, "the deployment created before since is left out")
	require.Equal(t, []int64{4, 3, 2}, []int64{ds[0].ID, ds[1].ID, ds[2].ID}, "newest first")
	require.Equal(t, "", ds[0].State, "no status yet")
	require.True(t, ds[0].SucceededAt.IsZero())
	require.Equal(t, "failure", ds[1].State)
	require.Equal(t, "health check failed", ds[1].StateDescription)
	d := ds[2]
	require.Equal(t, "success", d.State, "inactive (replaced) does not hide the state it reached")
	require.True(t, d.Inactive)
	require.Equal(t, "rolled out", d.StateDescription)
	require.True(t, d.SucceededAt.Equal(now.Add(-40*time.Minute)))
	require.True(t, d.CreatedAt.Equal(now.Add(-50*time.Minute)))
	require.Equal(t, strings.Repeat("b", 40), d.SHA)
	require.Equal(t, "v1.1.0", d.Ref)
	require.Equal(t, "production", d.Environment)
	require.Equal(t, "checkout 2.4.1", d.Description)
	require.Equal(t, "alice", d.Creator)

	ds, err = c.ListDeployments(ctx, owner, repo, "production", now.Add(-2*time.Hour))
	require.NoError(t, err)
	require.Len(t, ds, 2, "environment filter")
	require.Equal(t, int64(4), ds[0].ID)
	require.Equal(t, int64(2), ds[1].ID)
}

func TestListDeploymentsPages(t *testing.T) {
	srv, c := setup(t)
	now := time.Now().UTC().Truncate(time.Second)
	for i := 1; i <= 230; i++ { // one a minute
		srv.AddDeployment(githubtest.Deployment{ID: int64(i), SHA: strings.Repeat("e", 40), CreatedAt: now.Add(-time.Duration(231-i) * time.Minute)})
	}
	ds, err := c.ListDeployments(context.Background(), owner, repo, "", now.Add(-150*time.Minute))
	require.NoError(t, err)
	require.Len(t, ds, 150, "the second page is read, the third is not needed")
	require.Equal(t, int64(230), ds[0].ID)
	require.Equal(t, int64(81), ds[149].ID)
	require.Equal(t, 2+150, srv.DeploymentRequests(), "two pages and one status request each")
}

func TestListDeploymentsErrors(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	srv.AddDeployment(githubtest.Deployment{ID: 7, SHA: strings.Repeat("f", 40), CreatedAt: time.Now()})

	srv.FailNext(1, http.StatusBadGateway)
	_, err := c.ListDeployments(ctx, owner, repo, "", time.Now().Add(-time.Hour))
	e := asError(t, err)
	require.Equal(t, http.StatusBadGateway, e.Status)
	require.True(t, e.Retryable)
	require.Contains(t, e.Message, "list deployments of acme/svc")

	srv.RateLimitNext(1)
	_, err = c.ListDeployments(ctx, owner, repo, "", time.Now().Add(-time.Hour))
	e = asError(t, err)
	require.True(t, e.Retryable)
	require.Greater(t, e.RetryAfter, time.Duration(0), "until X-RateLimit-Reset")

	bad, err := ghclient.New(ghclient.Config{Token: "wrong", APIURL: srv.URL})
	require.NoError(t, err)
	_, err = bad.ListDeployments(ctx, owner, repo, "", time.Now().Add(-time.Hour))
	e = asError(t, err)
	require.Equal(t, http.StatusUnauthorized, e.Status)
	require.False(t, e.Retryable)

	// go-github remembers the rate limit until its reset: a fresh client for the rest.
	c, err = ghclient.New(ghclient.Config{Token: token, APIURL: srv.URL})
	require.NoError(t, err)
	_, err = c.ListDeployments(ctx, owner, "other", "", time.Now().Add(-time.Hour))
	e = asError(t, err)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.False(t, e.Retryable)

	_, err = c.ListDeployments(ctx, "", repo, "", time.Now())
	require.False(t, asError(t, err).Retryable)
}
