package starter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The same signed request with its hex spelled in upper case is the same request: the replay
// guard keys on the MAC, not on the header's text.
func TestSignatureReplayIgnoresHexCase(t *testing.T) {
	secret := []byte("s")
	au := &Auth{HMACSecrets: []WebhookSecret{{Name: "apm", Value: secret}}}
	body := []byte(`{}`)
	now := time.Now()
	ts, sig := SignWebhook(secret, now, body)
	send := func(sig string) error {
		r := httptest.NewRequest(http.MethodPost, "/v1/alerts/apm", nil)
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderSignature, sig)
		_, err := au.authenticateWebhook(r, body, now)
		return err
	}
	require.NoError(t, send(sig))
	upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256="))
	require.NotEqual(t, sig, upper)
	require.ErrorContains(t, send(upper), "replay")
	mixed := "sha256=" + strings.ToUpper(sig[7:20]) + sig[20:]
	require.ErrorContains(t, send(mixed), "replay")
}

func githubRequest(secret, event, delivery string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/deployments/github", strings.NewReader(string(body)))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", delivery)
	r.Header.Set("Content-Type", "application/json")
	return r
}

func githubDeployment(created time.Time) []byte {
	return []byte(`{"deployment":{"id":4711,"sha":"abc123","ref":"main","environment":"production","created_at":"` +
		created.UTC().Format(time.RFC3339) + `","payload":{"applications":[{"id":"a1","name":"checkout-api"}]},"creator":{"login":"octocat"}},
	  "repository":{"name":"shop","full_name":"acme/shop"}}`)
}

// A captured GitHub delivery sent again under a fresh X-GitHub-Delivery is recognised: the
// replay key is the signature (the body), and it acts once.
func TestGitHubReplayUnderFreshDeliveryID(t *testing.T) {
	tc := &fakeTemporal{}
	h := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{GitHubSecrets: []WebhookSecret{{Name: "gh", Value: []byte("gh-secret")}}}}).Handler()
	body := githubDeployment(time.Now())
	rec := serve(h, githubRequest("gh-secret", "deployment", "d-1", body))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	for _, d := range []string{"d-1", "d-2", "fresh-3", ""} {
		rec = serve(h, githubRequest("gh-secret", "deployment", d, body))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), "duplicate")
	}
	require.Equal(t, 1, tc.starts, "acted once")

	// An event older than the window is refused: its key may have expired.
	rec = serve(h, githubRequest("gh-secret", "deployment", "d-4", githubDeployment(time.Now().Add(-GitHubReplayWindow-time.Hour))))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"field":"deployment.created_at"`)
}

// GitHub's secret is its own setting: a body signed with a Vigil webhook secret, in either
// scheme, is not a GitHub delivery.
func TestGitHubRefusesVigilSecrets(t *testing.T) {
	tc := &fakeTemporal{}
	au := &Auth{HMACSecrets: []WebhookSecret{{Name: "apm", Value: []byte("vigil-secret")}},
		GitHubSecrets: []WebhookSecret{{Name: "gh", Value: []byte("gh-secret")}}}
	h := (&API{Temporal: tc, Store: fakeStore{}, Auth: au}).Handler()
	body := githubDeployment(time.Now())
	rec := serve(h, githubRequest("vigil-secret", "deployment", "d-1", body))
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())

	r := httptest.NewRequest(http.MethodPost, "/v1/deployments/github", strings.NewReader(string(body)))
	ts, sig := SignWebhook([]byte("vigil-secret"), time.Now(), body)
	r.Header.Set(HeaderTimestamp, ts)
	r.Header.Set(HeaderSignature, sig)
	r.Header.Set("X-Hub-Signature-256", sig)
	r.Header.Set("X-GitHub-Event", "deployment")
	r.Header.Set("Content-Type", "application/json")
	rec = serve(h, r)
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
	require.Zero(t, tc.starts)
}
