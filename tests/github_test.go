package tests

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/tests/testenv"
)

func githubPost(t *testing.T, url, event, delivery, secret string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// TestGitHubDeploymentEvents: a signed `deployment` event starts change tracking, a signed
// `deployment_status` success finishes it, a redelivery is recognised, a bad signature refused.
func TestGitHubDeploymentEvents(t *testing.T) {
	t.Setenv("GH_WEBHOOK_SECRET", "gh-secret")
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Auth.GitHubSecrets = []config.HMACSecret{{Name: "github", SecretEnv: "GH_WEBHOOK_SECRET"}}
		c.Auth.APIKeys = []config.APIKey{{Client: "ops", Org: "acme", KeyHash: config.HashAPIKey("ops-key")}}
	}))
	apiKey = "ops-key"
	t.Cleanup(func() { apiKey = "" })
	url := base + "/v1/deployments/github"
	created := time.Now().UTC().Format(time.RFC3339)
	dep := []byte(`{"deployment":{"id":4711,"sha":"abc123","ref":"main","environment":"production","created_at":"` + created + `",
	  "payload":{"applications":[{"id":"a1","name":"checkout-api"}]},"creator":{"login":"octocat"}},
	  "repository":{"name":"shop","full_name":"acme/shop"}}`)
	code, out := githubPost(t, url, "deployment", "d-1", "gh-secret", dep)
	require.Equal(t, http.StatusAccepted, code, out)
	require.Contains(t, out, "gh-acme-shop-4711")
	code, out = githubPost(t, url, "deployment", "d-1", "gh-secret", dep)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, out, "duplicate", "a redelivery is recognised")
	code, _ = githubPost(t, url, "deployment", "d-2", "wrong-secret", dep)
	require.Equal(t, http.StatusUnauthorized, code)

	status := []byte(`{"deployment_status":{"state":"success","created_at":"` + created + `"},
	  "deployment":{"id":4711},"repository":{"name":"shop","full_name":"acme/shop"}}`)
	code, out = githubPost(t, url, "deployment_status", "d-3", "gh-secret", status)
	require.Equal(t, http.StatusAccepted, code, out)
	var st struct {
		Deployment struct {
			Author       string `json:"author"`
			Applications []struct {
				Name string `json:"name"`
			} `json:"applications"`
		} `json:"deployment"`
		FinishedAt *time.Time `json:"finishedAt"`
	}
	require.Eventually(t, func() bool {
		return getJSON(t, base+"/v1/deployments/gh-acme-shop-4711", &st) == http.StatusOK && st.FinishedAt != nil
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, "octocat", st.Deployment.Author)
	require.Equal(t, "checkout-api", st.Deployment.Applications[0].Name)
}
