package ghclient

import (
	"context"
	"strconv"
	"time"

	"github.com/google/go-github/v62/github"
)

// Deployment is a GitHub deployment with what its statuses say.
type Deployment struct {
	ID          int64     `json:"id"`
	SHA         string    `json:"sha"`
	Ref         string    `json:"ref,omitempty"`
	Task        string    `json:"task,omitempty"`
	Environment string    `json:"environment,omitempty"`
	Description string    `json:"description,omitempty"`
	Creator     string    `json:"creator,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	// State is the latest status's state other than "inactive" (pending, queued, in_progress,
	// success, failure, error), or "" when it has none.
	State string `json:"state,omitempty"`
	// StateDescription is that status's description.
	StateDescription string `json:"stateDescription,omitempty"`
	// SucceededAt is when its first "success" status was posted (zero: none).
	SucceededAt time.Time `json:"succeededAt,omitzero"`
	// Inactive is true when a newer deployment to its environment has replaced it.
	Inactive bool `json:"inactive,omitempty"`
}

// deploymentPages bounds how many pages of deployments ListDeployments reads.
const deploymentPages = 5

// statusesPerDeployment is how many of a deployment's statuses (newest first) are read.
const statusesPerDeployment = 30

// ListDeployments returns the deployments of owner/repo created at or after since (to
// environment when it is not ""), newest first, each with its statuses' state: GET
// /repos/{owner}/{repo}/deployments (100 a page, at most 5 pages, stopping at the first older
// one) and GET .../deployments/{id}/statuses.
func (c *Client) ListDeployments(ctx context.Context, owner, repo, environment string, since time.Time) ([]Deployment, error) {
	if err := required("owner", owner, "repo", repo); err != nil {
		return nil, err
	}
	op := "list deployments of " + owner + "/" + repo
	opts := &github.DeploymentsListOptions{Environment: environment, ListOptions: github.ListOptions{PerPage: 100}}
	var out []Deployment
	for page := 0; page < deploymentPages; page++ {
		ds, resp, err := c.gh.Repositories.ListDeployments(ctx, owner, repo, opts)
		if err != nil {
			return nil, classify(op, err)
		}
		older := false
		for _, d := range ds {
			created := d.GetCreatedAt().Time
			if created.Before(since) {
				older = true
				continue
			}
			out = append(out, Deployment{ID: d.GetID(), SHA: d.GetSHA(), Ref: d.GetRef(), Task: d.GetTask(),
				Environment: d.GetEnvironment(), Description: d.GetDescription(), Creator: d.GetCreator().GetLogin(),
				CreatedAt: created})
		}
		if older || resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for i := range out {
		d := &out[i]
		sts, _, err := c.gh.Repositories.ListDeploymentStatuses(ctx, owner, repo, d.ID, &github.ListOptions{PerPage: statusesPerDeployment})
		if err != nil {
			return nil, classify(op+": statuses of deployment "+strconv.FormatInt(d.ID, 10), err)
		}
		for _, s := range sts { // newest first
			switch st := s.GetState(); {
			case st == "inactive":
				d.Inactive = true
			case d.State == "":
				d.State, d.StateDescription = st, s.GetDescription()
			}
			if s.GetState() == "success" {
				d.SucceededAt = s.GetCreatedAt().Time // the oldest success wins
			}
		}
	}
	return out, nil
}
