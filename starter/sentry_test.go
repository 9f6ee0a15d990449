package starter

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/workflows"
)

var sentrySecret = []byte("sentry-client-secret")

func sentryPost(h http.Handler, resource, body string, sign func(string) string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/alerts/sentry", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSentryResource, resource)
	if sign != nil {
		req.Header.Set(HeaderSentrySignature, sign(body))
	}
	return serve(h, req)
}

func signedBySentry(body string) string { return SignSentry(sentrySecret, []byte(body)) }

func sourcesAPI(tc *fakeTemporal) http.Handler {
	return (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true},
		Sources: Sources{SentryClientSecret: sentrySecret, DatadogToken: []byte("dd-token"), KibanaToken: []byte("kb-token")}}).Handler()
}

// Sentry's documented issue alert becomes the firing alert of the issue; its resend joins the
// same incident; the issue's resolved webhook resolves it.
func TestSentryIssueAlert(t *testing.T) {
	tc := &fakeTemporal{}
	h := sourcesAPI(tc)
	body := fixture(t, "sentry/issue-alert.json")
	rec := sentryPost(h, "event_alert", body, signedBySentry)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"firing": 1`)
	in := tc.inputs[0].(workflows.IncidentInput)
	al := in.Alert
	require.Equal(t, "Very Important Alert Rule!", al.Rule)
	require.Equal(t, "ReferenceError: heck is not defined", al.Message)
	require.Equal(t, "front-end", al.Application, "the project slug of the event's URL")
	require.Equal(t, "critical", al.Severity, "level error")
	require.Equal(t, "sentry-issue-1117540176", al.Fingerprint)
	require.True(t, al.StartsAt.Equal(time.Date(2019, 8, 19, 21, 6, 17, 886000000, time.UTC)))
	require.Equal(t, []profile.Link{{Name: "event", URL: "https://sentry.io/organizations/test-org/issues/1117540176/events/bbd2ba7bcc2f4935b4e8e2e1bb5bd6d6/"}}, al.Links)
	require.Equal(t, "Chrome 75.0.3770", al.Labels["sentry_browser"])
	require.Equal(t, "issue:1117540176", in.GroupKey)
	require.Equal(t, "source:sentry", in.Client)

	rec = sentryPost(h, "event_alert", body, signedBySentry) // Sentry retries a delivery
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, tc.inputs[0].(workflows.IncidentInput).Alert.Fingerprint, tc.inputs[1].(workflows.IncidentInput).Alert.Fingerprint)
	first := GroupIncidentID("source:sentry", "issue:1117540176")
	require.Contains(t, rec.Body.String(), first, "the same incident")

	rec = sentryPost(h, "issue", fixture(t, "sentry/issue-resolved.json"), signedBySentry)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), first)
	sig := tc.signalled[len(tc.signalled)-1].(workflows.AlertsSignal)
	require.Equal(t, []string{"sentry-issue-1117540176"}, sig.Resolved)

	// An issue that is only assigned, or the installation hook, is acknowledged and dropped.
	rec = sentryPost(h, "issue", strings.Replace(fixture(t, "sentry/issue-resolved.json"), `"action": "resolved"`, `"action": "assigned"`, 1), signedBySentry)
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Contains(t, rec.Body.String(), `"ignored"`)
}

// A metric alert fires (critical) and resolves (resolved) as one alert of the rule's group.
func TestSentryMetricAlert(t *testing.T) {
	tc := &fakeTemporal{}
	h := sourcesAPI(tc)
	rec := sentryPost(h, "metric_alert", fixture(t, "sentry/metric-alert-critical.json"), signedBySentry)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	in := tc.inputs[0].(workflows.IncidentInput)
	al := in.Alert
	require.Equal(t, "Too many errors", al.Rule)
	require.Equal(t, "Critical: Too many errors\n1001 events in the last 10 minutes\nFilter: level:error", al.Message)
	require.Equal(t, "foo", al.Application)
	require.Equal(t, "critical", al.Severity)
	require.Equal(t, "sentry-metric-alert-4", al.Fingerprint)
	require.True(t, al.StartsAt.Equal(time.Date(2021, 2, 17, 22, 54, 0, 0, time.UTC)))
	require.Equal(t, "count()", al.Labels["sentry_aggregate"])
	require.Equal(t, "https://sentry.io/organizations/test-org/alerts/rules/details/7/?alert=4", al.Links[0].URL)
	require.Equal(t, "metric_alert:7", in.GroupKey)

	rec = sentryPost(h, "metric_alert", fixture(t, "sentry/metric-alert-resolved.json"), signedBySentry)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), GroupIncidentID("source:sentry", "metric_alert:7"))
	sig := tc.signalled[len(tc.signalled)-1].(workflows.AlertsSignal)
	require.Equal(t, []string{"sentry-metric-alert-4"}, sig.Resolved)
}

// A missing, malformed or wrong signature is a 401 problem that names no secret; so is a
// Vigil webhook credential (the source accepts Sentry's signature only). Bad bodies are 4xx
// naming the field; an unknown source and one not configured are 404s.
func TestSentryRefusals(t *testing.T) {
	tc := &fakeTemporal{}
	h := sourcesAPI(tc)
	body := fixture(t, "sentry/issue-alert.json")
	for name, sign := range map[string]func(string) string{
		"missing":         nil,
		"not hex":         func(string) string { return "zz" },
		"other secret":    func(b string) string { return SignSentry([]byte("other"), []byte(b)) },
		"other body":      func(b string) string { return signedBySentry(b + " ") },
		"vigil signature": func(b string) string { _, s := SignWebhook(sentrySecret, time.Now(), []byte(b)); return s },
	} {
		rec := sentryPost(h, "event_alert", body, sign)
		require.Equal(t, http.StatusUnauthorized, rec.Code, name)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), name)
		require.NotContains(t, rec.Body.String(), string(sentrySecret), name)
	}
	require.Zero(t, tc.signals, "nothing refused reached Temporal")

	bad := strings.Replace(body, `"datetime": "2019-08-19T21:06:17.886000Z"`, `"datetime": "yesterday"`, 1)
	bad = strings.Replace(bad, `"timestamp": 1566248777.886`, `"timestamp": 0`, 1)
	rec := sentryPost(h, "event_alert", bad, signedBySentry)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"field":"data.event.datetime"`)

	rec = sentryPost(h, "event_alert", strings.Replace(body, `"issue_id": "1117540176"`, `"issue_id": ""`, 1), signedBySentry)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"data.event.issue_id"`)

	rec = sentryPost(h, "event_alert", strings.Replace(body, `"title": "ReferenceError`, `"title": 7, "x": "`, 1), signedBySentry)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"field":"data.event.title"`)

	rec = sentryPost(h, "event_alert", "{not json", signedBySentry)
	require.Equal(t, http.StatusBadRequest, rec.Code)

	rec = sentryPost(h, "metric_alert", strings.Replace(fixture(t, "sentry/metric-alert-critical.json"), `"action": "critical"`, `"action": "exploded"`, 1), signedBySentry)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"action"`)

	rec = do(h, http.MethodPost, "/v1/alerts/pagerduty", "{}")
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "sentry")
	off := (&API{Temporal: tc, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
	rec = sentryPost(off, "event_alert", body, signedBySentry)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "alerts.sources.sentry.client_secret_env")

	// The browser rules hold here too: a cross-site post and a form body are refused.
	req := httptest.NewRequest(http.MethodPost, "/v1/alerts/sentry", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set(HeaderSentrySignature, signedBySentry(body))
	require.Equal(t, http.StatusUnsupportedMediaType, serve(h, req).Code)
}

// The trace ID a source carries reaches the alert, so the incident fetches its profile.
func TestSourcesCarryTraceIDs(t *testing.T) {
	tc := &fakeTemporal{}
	h := sourcesAPI(tc)
	body := strings.Replace(fixture(t, "sentry/issue-alert.json"), `"contexts": {`, `"contexts": {"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "type": "trace"},`, 1)
	rec := sentryPost(h, "event_alert", body, signedBySentry)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", tc.inputs[0].(workflows.IncidentInput).Alert.TraceID)

	dd := strings.Replace(fixture(t, "datadog/triggered.json"), `team:payments`, `team:payments,trace_id:7f3a9c1e2b4d`, 1)
	rec = tokenPost(h, "datadog", "dd-token", dd)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, "7f3a9c1e2b4d", tc.inputs[1].(workflows.IncidentInput).Alert.TraceID)

	kb := strings.Replace(fixture(t, "kibana/active.json"), `"host": ""`, `"host": "", "trace_id": "0af7651916cd43dd8448eb211c80319c"`, 1)
	rec = tokenPost(h, "kibana", "kb-token", kb)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, "0af7651916cd43dd8448eb211c80319c", tc.inputs[2].(workflows.IncidentInput).Alert.TraceID)
}
