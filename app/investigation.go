package app

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/depstatus"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/workflows"
)

// wireInvestigation gives the worker its GitHub access for the investigation's deployments
// (alerts.investigation.github, else code_tuning.github's token), its results recorded as the
// dependency "github-deployments".
func wireInvestigation(cfg *config.Config, inc *activities.Incident, deps *depstatus.Registry) error {
	if len(cfg.Alerts.Investigation.GitHub.Repositories) == 0 {
		return nil
	}
	acc := cfg.InvestigationGitHubAccess()
	token, err := cfg.Secret(acc.TokenEnv, acc.TokenFile)
	if err != nil {
		return fmt.Errorf("alerts.investigation.github.token: %w", err)
	}
	gh, err := ghclient.New(ghclient.Config{Token: token, APIURL: acc.APIURL})
	if err != nil {
		return fmt.Errorf("alerts.investigation.github: %w", err)
	}
	inc.Deployments = statusDeployments{gh, deps.Add("github-deployments", "github", "alerts.investigation.github", nil)}
	return nil
}

// investigationOptions are the investigation's settings for every incident.
func investigationOptions(cfg *config.Config) workflows.InvestigationOptions {
	inv := cfg.Alerts.Investigation
	opt := workflows.InvestigationOptions{Disabled: inv.Disabled, LookBack: inv.LookBack, Window: inv.Window,
		GitHubEnvironment: inv.GitHub.Environment}
	for _, r := range inv.GitHub.Repositories {
		if opt.GitHubRepositories == nil {
			opt.GitHubRepositories = map[string]string{}
		}
		opt.GitHubRepositories[r.Application] = r.Repository
	}
	return opt
}

// statusDeployments records each GitHub deployments call's result to its dependency.
type statusDeployments struct {
	activities.DeploymentLister
	dep *depstatus.Dep
}

func (s statusDeployments) ListDeployments(ctx context.Context, owner, repo, environment string, since time.Time) ([]ghclient.Deployment, error) {
	ds, err := s.DeploymentLister.ListDeployments(ctx, owner, repo, environment, since)
	s.dep.Result(err)
	return ds, err
}
