package starter

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWebhookAuthentication(t *testing.T) {
	secret := []byte("shared-secret")
	au := &Auth{
		HMACSecrets:   []WebhookSecret{{Name: "apm", Value: secret}},
		WebhookTokens: []WebhookSecret{{Name: "alertmanager", Value: []byte("am-token")}},
	}
	body := []byte(`{"rule":"SlowSQL"}`)
	now := time.Unix(1_800_000_000, 0)
	req := func(hdr map[string]string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/alerts/apm", strings.NewReader(string(body)))
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		return r
	}
	ts, sig := SignWebhook(secret, now, body)
	oldTS, oldSig := SignWebhook(secret, now.Add(-6*time.Minute), body)
	_, wrongSig := SignWebhook([]byte("other"), now, body)
	cases := []struct {
		name    string
		hdr     map[string]string
		body    []byte
		client  string
		wantErr string
	}{
		{"valid signature", map[string]string{HeaderTimestamp: ts, HeaderSignature: sig}, body, "webhook:apm", ""},
		{"signature over another body", map[string]string{HeaderTimestamp: ts, HeaderSignature: sig}, []byte(`{"rule":"x"}`), "", "does not match"},
		{"wrong secret", map[string]string{HeaderTimestamp: ts, HeaderSignature: wrongSig}, body, "", "does not match"},
		{"outside the replay window", map[string]string{HeaderTimestamp: oldTS, HeaderSignature: oldSig}, body, "", "replay window"},
		{"bad timestamp", map[string]string{HeaderTimestamp: "yesterday", HeaderSignature: sig}, body, "", "Unix seconds"},
		{"webhook token", map[string]string{"Authorization": "Bearer am-token"}, body, "webhook:alertmanager", ""},
		{"wrong token", map[string]string{"Authorization": "Bearer nope"}, body, "", "unknown API key"},
		{"no credentials", nil, body, "", "missing credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			au.replays = memOnce{} // each case is a first delivery
			p, err := au.authenticateWebhook(req(c.hdr), c.body, now)
			if c.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.client, p.Client)
		})
	}
}

func TestWebhookSignatureReplay(t *testing.T) {
	secret := []byte("s")
	au := &Auth{HMACSecrets: []WebhookSecret{{Name: "apm", Value: secret}}}
	body := []byte(`{}`)
	now := time.Unix(1_800_000_000, 0)
	ts, sig := SignWebhook(secret, now, body)
	r := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/alerts/apm", nil)
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderSignature, sig)
		return r
	}
	_, err := au.authenticateWebhook(r(), body, now)
	require.NoError(t, err)
	_, err = au.authenticateWebhook(r(), body, now.Add(time.Minute))
	require.ErrorContains(t, err, "replay")
}

func TestWebhookRoutesRejectUnauthenticated(t *testing.T) {
	h := (&API{Temporal: nil, Store: fakeStore{}, Auth: &Auth{HMACSecrets: []WebhookSecret{{Name: "apm", Value: []byte("s")}}}}).Handler()
	rec := do(h, http.MethodPost, "/v1/alerts/apm", `{"rule":"SlowSQL"}`)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
}
