package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInvestigationGitHub(t *testing.T) {
	c, err := Parse("vigil.yaml", y(
		"alerts:",
		"  investigation:",
		"    github:",
		"      environment: production",
		"      token_env: GH_DEPLOY_TOKEN",
		"      repositories:",
		"        - application: checkout-api",
		"          repository: acme/checkout",
		"        - {application: payment-api, repository: acme/payments}",
	), nil)
	require.NoError(t, err)
	g := c.Alerts.Investigation.GitHub
	require.Equal(t, []GitHubRepository{{"checkout-api", "acme/checkout"}, {"payment-api", "acme/payments"}}, g.Repositories)
	require.Equal(t, "production", g.Environment)
	require.Equal(t, GitHubAccess{TokenEnv: "GH_DEPLOY_TOKEN"}, c.InvestigationGitHubAccess())

	// Without its own token, code_tuning.github's access serves.
	c, err = Parse("vigil.yaml", y(
		"code_tuning:",
		"  repository: acme/checkout",
		"  base_branch: main",
		"  github: {token_file: /run/secrets/gh, api_url: 'https://ghe.example.com/api/v3/'}",
		"alerts:",
		"  investigation:",
		"    github:",
		"      repositories: [{application: checkout-api, repository: acme/checkout}]",
	), nil)
	require.NoError(t, err)
	require.Equal(t, GitHubAccess{TokenFile: "/run/secrets/gh", APIURL: "https://ghe.example.com/api/v3/"}, c.InvestigationGitHubAccess())

	_, err = Parse("vigil.yaml", y(
		"alerts:",
		"  investigation:",
		"    github:",
		"      api_url: ftp://github",
		"      repositories:",
		"        - application: checkout-api",
		"          repository: checkout",
		"        - application: checkout-api",
		"          repository: acme/checkout",
		"        - repository: acme/other",
	), nil)
	var msgs []string
	for _, fe := range Errors(err) {
		msgs = append(msgs, fe.Error())
	}
	require.Equal(t, []string{
		"vigil.yaml:3: alerts.investigation.github.token_env: required when repositories are given: set token_env or token_file (or code_tuning.github's)",
		`vigil.yaml:4: alerts.investigation.github.api_url: must be an absolute http(s) URL, got "ftp://github"`,
		`vigil.yaml:7: alerts.investigation.github.repositories[0].repository: "checkout" is not owner/name`,
		`vigil.yaml:8: alerts.investigation.github.repositories[1].application: "checkout-api" is already given a repository at alerts.investigation.github.repositories[0]`,
		`vigil.yaml:10: alerts.investigation.github.repositories[2].application: required`,
	}, msgs)
}
