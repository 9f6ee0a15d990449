package amsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gettableAlerts is a GET /api/v2/alerts answer as Alertmanager 0.25+ writes it, newest first
// and one of them suppressed by a silence.
const gettableAlerts = `[
  {
    "annotations": {"description": "5xx ratio above 5% for 5 minutes", "summary": "High error rate on checkout-api"},
    "endsAt": "2025-03-10T12:39:00.000Z",
    "fingerprint": "9d1c3b0e8f7a6d5c",
    "receivers": [{"name": "team-checkout"}],
    "startsAt": "2025-03-10T12:09:00.000Z",
    "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
    "updatedAt": "2025-03-10T12:35:00.123+01:00",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=job%3Acheckout%3Aerrors&g0.tab=1",
    "labels": {"alertname": "HighErrorRate", "application": "checkout-api", "severity": "critical", "team": "checkout"}
  },
  {
    "annotations": {"description": "p95 latency above 2s"},
    "endsAt": "2025-03-10T12:40:00.000Z",
    "fingerprint": "0a1b2c3d4e5f6a7b",
    "receivers": [{"name": "team-checkout"}],
    "startsAt": "2025-03-10T13:01:30.500+01:00",
    "status": {"inhibitedBy": [], "silencedBy": ["3c2a9a8e-5b3f-4b1e-9f7e-1f2d3c4b5a69"], "state": "suppressed"},
    "updatedAt": "2025-03-10T12:35:00.000Z",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=latency",
    "labels": {"alertname": "HighLatency", "application": "checkout-api"}
  },
  {
    "annotations": {},
    "endsAt": "2025-03-10T12:40:00.000Z",
    "fingerprint": "ffff000011112222",
    "receivers": [{"name": "team-checkout"}],
    "startsAt": "2025-03-10T12:01:30.500Z",
    "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
    "updatedAt": "2025-03-10T12:35:00.000Z",
    "generatorURL": "",
    "labels": {"alertname": "Tie", "application": "checkout-api"}
  }
]`

type fakeAM struct {
	queries []map[string][]string
	status  int
	body    string
}

func newFake(t *testing.T, status int, body string) (*Client, *fakeAM) {
	t.Helper()
	f := &fakeAM{status: status, body: body}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/am/api/v2/alerts" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		f.queries = append(f.queries, r.URL.Query())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprint(w, f.body)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/am/", nil)
	require.NoError(t, err)
	return c, f
}

func TestAlerts(t *testing.T) {
	c, f := newFake(t, 200, gettableAlerts)
	got, err := c.Alerts(context.Background(), map[string]string{"application": "checkout-api"})
	require.NoError(t, err)
	require.Equal(t, []Alert{
		// Starts with Tie (13:01:30.5+01:00 = 12:01:30.5Z); ties are ordered by fingerprint.
		{Name: "HighLatency", State: "suppressed", StartsAt: time.Date(2025, 3, 10, 12, 1, 30, 500e6, time.UTC),
			EndsAt: time.Date(2025, 3, 10, 12, 40, 0, 0, time.UTC), Summary: "p95 latency above 2s",
			Labels: map[string]string{"alertname": "HighLatency", "application": "checkout-api"}, Fingerprint: "0a1b2c3d4e5f6a7b"},
		{Name: "Tie", State: "active", StartsAt: time.Date(2025, 3, 10, 12, 1, 30, 500e6, time.UTC),
			EndsAt: time.Date(2025, 3, 10, 12, 40, 0, 0, time.UTC),
			Labels: map[string]string{"alertname": "Tie", "application": "checkout-api"}, Fingerprint: "ffff000011112222"},
		{Name: "HighErrorRate", Severity: "critical", State: "active", StartsAt: time.Date(2025, 3, 10, 12, 9, 0, 0, time.UTC),
			EndsAt: time.Date(2025, 3, 10, 12, 39, 0, 0, time.UTC), Summary: "High error rate on checkout-api",
			Labels:      map[string]string{"alertname": "HighErrorRate", "application": "checkout-api", "severity": "critical", "team": "checkout"},
			Fingerprint: "9d1c3b0e8f7a6d5c"},
	}, got)

	require.Len(t, f.queries, 1)
	q := f.queries[0]
	require.Equal(t, []string{`application="checkout-api"`}, q["filter"])
	for _, k := range []string{"active", "silenced", "inhibited", "unprocessed"} {
		require.Equal(t, []string{"true"}, q[k], k)
	}

	b, err := json.Marshal(got[1])
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"Tie","state":"active","startsAt":"2025-03-10T12:01:30.5Z","endsAt":"2025-03-10T12:40:00Z",
		"labels":{"alertname":"Tie","application":"checkout-api"},"fingerprint":"ffff000011112222"}`, string(b))
	b, err = json.Marshal(Alert{Name: "x", StartsAt: time.Unix(0, 0).UTC()})
	require.NoError(t, err)
	require.NotContains(t, string(b), "endsAt", "zero EndsAt left out")
}

func TestAlertsFiltersAndLocalCheck(t *testing.T) {
	c, f := newFake(t, 200, gettableAlerts)
	// Matchers sorted by key, values escaped; the server (here) ignores the filters, the client
	// still applies them.
	got, err := c.Alerts(context.Background(), map[string]string{"team": "checkout", "application": "checkout-api", "severity": "critical"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "HighErrorRate", got[0].Name)
	require.Equal(t, []string{`application="checkout-api"`, `severity="critical"`, `team="checkout"`}, f.queries[0]["filter"])

	got, err = c.Alerts(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Nil(t, f.queries[1]["filter"])

	fs, err := Filters(map[string]string{"app": `we"ird\ap` + "\np", "_x1": "a=b,c"})
	require.NoError(t, err)
	require.Equal(t, []string{`_x1="a=b,c"`, `app="we\"ird\\ap\np"`}, fs)
	for _, m := range []map[string]string{{"": "x"}, {"1a": "x"}, {"a-b": "x"}, {"a.b": "x"}, {"app": ""}} {
		_, err := c.Alerts(context.Background(), m)
		require.Error(t, err, "%v", m)
	}
	require.Len(t, f.queries, 2, "invalid matchers are rejected before sending")
}

func TestAlertsEmpty(t *testing.T) {
	c, _ := newFake(t, 200, `[]`)
	got, err := c.Alerts(context.Background(), map[string]string{"application": "x"})
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Empty(t, got)
}

func TestAlertsErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
	}{
		"bad filter":    {400, `"bad matcher format: application=checkout\"\n"`, `Alertmanager returned HTTP 400: bad matcher format: application=checkout"`},
		"internal":      {500, `"failed to get alerts"`, "HTTP 500: failed to get alerts"},
		"swagger error": {422, `{"code":602,"message":"active in query must be of type bool: \"maybe\""}`, "HTTP 422: active in query must be of type bool"},
		"proxy 502":     {502, "<html>\n<h1>502 Bad Gateway</h1>" + strings.Repeat("x", 300), "HTTP 502: <html>\n<h1>502 Bad Gateway</h1>xxx"},
		"empty 503":     {503, ``, "HTTP 503: (empty body)"},
		"truncated":     {200, `[{"labels":`, "malformed alerts response (want a JSON array of alerts)"},
		"object":        {200, `{"alerts":[]}`, "malformed alerts response"},
		"null":          {200, `null`, "malformed alerts response: null"},
		"no status":     {200, `[{"labels":{"alertname":"A"},"fingerprint":"f","startsAt":"2025-03-10T12:00:00Z"}]`, "malformed alert #0"},
		"bad time":      {200, `[{"labels":{},"fingerprint":"f","startsAt":"yesterday","status":{"state":"active"}}]`, "malformed alerts response"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := newFake(t, tc.status, tc.body)
			_, err := c.Alerts(context.Background(), nil)
			require.ErrorContains(t, err, tc.want)
			var apiErr *APIError
			require.Equal(t, tc.status != 200, errors.As(err, &apiErr))
			if apiErr != nil {
				require.Equal(t, tc.status, apiErr.HTTPStatus)
				require.LessOrEqual(t, len(apiErr.Message), 210)
			}
		})
	}
}

func TestAlertsBodyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("["))
		chunk := []byte(strings.Repeat(" ", 1<<20))
		for range maxBodyBytes>>20 + 1 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte("]"))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, nil)
	require.NoError(t, err)
	_, err = c.Alerts(context.Background(), nil)
	require.ErrorContains(t, err, "larger than")
}

func TestNew(t *testing.T) {
	for _, u := range []string{"", "alertmanager:9093", "ftp://x", "http://", "http://x/?a=1", "http://x/#f", "::"} {
		_, err := New(u, nil)
		require.Error(t, err, u)
	}
	c, err := New(" https://ops.example/alertmanager/ ", nil)
	require.NoError(t, err)
	require.Equal(t, "https://ops.example/alertmanager/api/v2/alerts", c.alerts)
	require.Equal(t, DefaultTimeout, c.http.Timeout)
	hc := &http.Client{}
	c, err = New("http://am:9093", hc)
	require.NoError(t, err)
	require.Same(t, hc, c.http)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Alerts(ctx, nil)
	require.ErrorIs(t, err, context.Canceled)
}
