package starter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
)

// The fuzz targets send any body to each request decoder of the API, behind a Temporal that
// refuses what the real one would refuse or terminate later (fakeTemporal). Whatever the input,
// the answer is never a 5xx: a panic (500), a limit the API failed to check (503), or an
// error that would make a sender retry forever. `.ci/run` runs each for a bounded time.

func fuzzAPI(t testing.TB, mutate func(*API)) http.Handler {
	api := &API{Temporal: &fakeTemporal{noRecord: true}, Store: fakeStore{}, Auth: &Auth{Anonymous: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(api)
	}
	return api.Handler()
}

func checkNo5xx(t *testing.T, h http.Handler, r *http.Request, body []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d for body %q:\n%s", r.Method, r.URL.Path, rec.Code, body, rec.Body.String())
	}
}

func jsonPost(path string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func FuzzAPMAlert(f *testing.F) {
	for _, name := range profile.ExampleNames() {
		b, _ := profile.Example(name)
		f.Add(b)
	}
	f.Add([]byte(`{"rule":"x","message":"m","application":"a","startsAt":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"rule":"` + strings.Repeat("r", 3000) + `","message":"m","application":"a","startsAt":"2026-01-02T03:04:05Z"}`))
	h := fuzzAPI(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		checkNo5xx(t, h, jsonPost("/v1/alerts/apm", body), body)
	})
}

func FuzzAlertmanager(f *testing.F) {
	f.Add([]byte(amBody("HighCPU", "shop")))
	f.Add([]byte(`{"version":"4","groupKey":"g","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"A"},"fingerprint":"f"}]}`))
	f.Add([]byte(amBody(strings.Repeat("a", 300), "shop")))
	f.Add(stormBody(50))
	h := fuzzAPI(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		checkNo5xx(t, h, jsonPost("/v1/alerts/alertmanager", body), body)
	})
}

func FuzzDeployment(f *testing.F) {
	f.Add([]byte(`{"id":"d-1","plannedAt":"2026-01-02T03:04:05Z","version":"1.2.3","author":"ci","applications":[{"id":"a1","name":"checkout-api"},{"id":101,"name":"cart"}]}`))
	f.Add([]byte(`{"id":"d-1","plannedAt":"2026-01-02T03:04:05Z","applications":[{"id":"a1","name":"` + strings.Repeat("n", 300) + `"}]}`))
	f.Add([]byte(`{"type":"finished","at":"2026-01-02T03:04:05Z"}`))
	h := fuzzAPI(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		checkNo5xx(t, h, jsonPost("/v1/deployments", body), body)
		checkNo5xx(t, h, jsonPost("/v1/deployments/d-1/events", body), body)
	})
}

// FuzzGitHub signs every body, so the decoder behind the signature is what is searched; NOW in
// a body is replaced by the current time (events older than GitHubReplayWindow are refused).
func FuzzGitHub(f *testing.F) {
	f.Add("deployment", []byte(`{"deployment":{"id":4711,"sha":"abc","ref":"main","environment":"production","created_at":"NOW",
	  "payload":{"applications":[{"id":"a1","name":"checkout-api"}]},"creator":{"login":"octocat"}},"repository":{"name":"shop","full_name":"acme/shop"}}`))
	f.Add("deployment_status", []byte(`{"deployment_status":{"state":"success","created_at":"NOW"},"deployment":{"id":4711},"repository":{"name":"shop","full_name":"acme/shop"}}`))
	f.Add("deployment", []byte(`{"deployment":{"id":1,"created_at":"NOW","payload":{"applications":"x"}},"repository":{"full_name":"a/b"}}`))
	f.Add("ping", []byte(`{"zen":"Keep it logically awesome."}`))
	secret := []byte("fuzz-secret")
	h := fuzzAPI(f, func(a *API) { a.Auth = &Auth{GitHubSecrets: []WebhookSecret{{Name: "gh", Value: secret}}} })
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		body = []byte(strings.ReplaceAll(string(body), "NOW", time.Now().UTC().Format(time.RFC3339)))
		r := jsonPost("/v1/deployments/github", body)
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		r.Header.Set("X-GitHub-Event", event)
		r.Header.Set("X-GitHub-Delivery", "fuzz")
		checkNo5xx(t, h, r, body)
	})
}

func FuzzRole(f *testing.F) {
	f.Add([]byte(`{"code":"fuzz-role","name":"Fuzz","system_message":"You answer.","chain":[{"provider":"builtin","model":"analyst"}],"response_format":{"type":"text"}}`))
	f.Add([]byte(`{"code":"fuzz-role","chain":[{"provider":"builtin","model":"analyst","attempts":-1}],"parameters":{"temperature":9}}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"hi"}],"subject":"s"}`))
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(f.TempDir(), "roles.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	h := fuzzAPI(f, func(a *API) { a.Roles = &roles.Service{Store: st}; a.Store = st })
	f.Fuzz(func(t *testing.T, body []byte) {
		checkNo5xx(t, h, jsonPost("/v1/roles", body), body)
		r := httptest.NewRequest(http.MethodPut, "/v1/roles/fuzz-role", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		checkNo5xx(t, h, r, body)
		checkNo5xx(t, h, jsonPost("/v1/roles/fuzz-role/restore", body), body)
	})
}

// FuzzSentry signs every body with the client secret, so the decoder behind the signature is
// what is searched, under each resource Sentry names.
func FuzzSentry(f *testing.F) {
	for _, fx := range []struct{ resource, path string }{
		{"event_alert", "sentry/issue-alert.json"}, {"metric_alert", "sentry/metric-alert-critical.json"},
		{"metric_alert", "sentry/metric-alert-resolved.json"}, {"issue", "sentry/issue-resolved.json"},
	} {
		b, err := os.ReadFile("testdata/" + fx.path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fx.resource, b)
	}
	f.Add("event_alert", []byte(`{"data":{"event":{"issue_id":1,"datetime":"2026-01-02T03:04:05Z","title":"`+strings.Repeat("t", 300)+`"}}}`))
	secret := []byte("fuzz-secret")
	h := fuzzAPI(f, func(a *API) { a.Sources = Sources{SentryClientSecret: secret} })
	f.Fuzz(func(t *testing.T, resource string, body []byte) {
		r := jsonPost("/v1/alerts/sentry", body)
		r.Header.Set(HeaderSentryResource, resource)
		r.Header.Set(HeaderSentrySignature, SignSentry(secret, body))
		checkNo5xx(t, h, r, body)
	})
}

// FuzzTokenSources sends any body, with the right token, to the Datadog and Kibana sources.
func FuzzTokenSources(f *testing.F) {
	for _, p := range []string{"datadog/triggered.json", "datadog/recovered.json", "kibana/active.json", "kibana/recovered.json"} {
		b, err := os.ReadFile("testdata/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h := fuzzAPI(f, func(a *API) { a.Sources = Sources{DatadogToken: []byte("dd"), KibanaToken: []byte("kb")} })
	f.Fuzz(func(t *testing.T, body []byte) {
		for source, tok := range map[string]string{"datadog": "dd", "kibana": "kb"} {
			r := jsonPost("/v1/alerts/"+source, body)
			r.Header.Set("Authorization", "Bearer "+tok)
			checkNo5xx(t, h, r, body)
		}
	})
}

// FuzzGenericSource sends any body, with the token, to a source defined by a CEL mapping.
func FuzzGenericSource(f *testing.F) {
	f.Add([]byte(scriptBody))
	f.Add([]byte(`{"check":"c","details":"d","service":"s","level":"ok","at":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`[1,2,{"check":null}]`))
	h := genericAPI(f, &fakeTemporal{noRecord: true})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := jsonPost("/v1/alerts/disk-script", body)
		r.Header.Set("Authorization", "Bearer script-token")
		checkNo5xx(t, h, r, body)
	})
}
