package starter

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The browser checks: a foreign Host is refused on every route but the probes; a cross-site
// state-changing request is refused whatever its content type; a body must be JSON; only the
// Web UI's origin may call the codec.
func TestBrowserGuard(t *testing.T) {
	codecCalls := 0
	api := &API{Temporal: &fakeTemporal{}, Store: fakeStore{}, Auth: &Auth{Anonymous: true},
		AllowedHosts: append([]string{"vigil.example.com"}, LoopbackHosts...),
		CodecOrigins: []string{"http://127.0.0.1:8233"},
		Codec: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			codecCalls++
			w.WriteHeader(http.StatusOK)
		})}
	h := api.Handler()
	req := func(method, host, path, ct, body string, hdr ...string) int {
		r := httptest.NewRequest(method, "http://"+host+path, strings.NewReader(body))
		r.Host = host
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := serve(h, r)
		if rec.Code >= 400 {
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		}
		return rec.Code
	}
	dep := `{"id":"d","plannedAt":"2026-01-02T03:04:05Z","applications":[{"id":"a","name":"a"}]}`
	cases := []struct {
		name string
		code int
		got  int
	}{
		{"foreign host reads incidents", http.StatusForbidden, req("GET", "attacker.example:8080", "/v1/incidents/x", "", "")},
		{"foreign host decodes", http.StatusForbidden, req("POST", "attacker.example:8080", "/codec/decode", "application/json", "{}")},
		{"allowed host", http.StatusNotFound, req("GET", "vigil.example.com", "/v1/nope", "", "")},
		{"loopback with port", http.StatusNotFound, req("GET", "127.0.0.1:8080", "/v1/nope", "", "")},
		{"ipv6 loopback", http.StatusNotFound, req("GET", "[::1]:8080", "/v1/nope", "", "")},
		{"probe by address", http.StatusOK, req("GET", "10.1.2.3:8080", "/metrics", "", "")},
		{"cross-site text/plain", http.StatusForbidden, req("POST", "127.0.0.1:8080", "/v1/deployments", "text/plain", dep, "Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example")},
		{"cross-origin without fetch metadata", http.StatusForbidden, req("POST", "127.0.0.1:8080", "/v1/deployments", "text/plain", dep, "Origin", "https://attacker.example")},
		{"same-site other port", http.StatusForbidden, req("POST", "127.0.0.1:8080", "/v1/deployments", "application/json", dep, "Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:9999")},
		{"text/plain outside a browser", http.StatusUnsupportedMediaType, req("POST", "127.0.0.1:8080", "/v1/deployments", "text/plain", dep)},
		{"form outside a browser", http.StatusUnsupportedMediaType, req("POST", "127.0.0.1:8080", "/v1/deployments", "application/x-www-form-urlencoded", "a=b")},
		{"same origin json", http.StatusAccepted, req("POST", "127.0.0.1:8080", "/v1/deployments", "application/json; charset=utf-8", dep, "Sec-Fetch-Site", "same-origin", "Origin", "http://127.0.0.1:8080")},
		{"no browser json", http.StatusAccepted, req("POST", "127.0.0.1:8080", "/v1/deployments", "application/json", dep)},
		{"twilio wants a form", http.StatusUnsupportedMediaType, req("POST", "127.0.0.1:8080", "/v1/oncall/x/twilio/status", "application/json", "{}")},
		{"codec from the web ui", http.StatusOK, req("POST", "127.0.0.1:8080", "/codec/decode", "application/json", "{}", "Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:8233")},
		{"codec from another page", http.StatusForbidden, req("POST", "127.0.0.1:8080", "/codec/decode", "application/json", "{}", "Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example")},
		{"codec text/plain", http.StatusUnsupportedMediaType, req("POST", "127.0.0.1:8080", "/codec/decode", "text/plain", "{}")},
	}
	for _, c := range cases {
		require.Equal(t, c.code, c.got, c.name)
	}
	require.Equal(t, 1, codecCalls, "only the Web UI's request reached the codec")
}
