package depstatus

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestTransportRecordsAnswersAndFailures(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	r := New()
	d := r.Add("prometheus", "prometheus", "prometheus.url", nil)
	require.Equal(t, StateUnknown, d.Status().State)
	c := d.Client(time.Second)

	get := func() {
		resp, err := c.Get(srv.URL + "/api?x=secret")
		if err == nil {
			resp.Body.Close()
		}
	}
	get()
	require.Equal(t, StateUp, d.Status().State)
	status = http.StatusBadRequest // an answer: up
	get()
	require.Equal(t, StateUp, d.Status().State)
	status = http.StatusBadGateway
	get()
	st := d.Status()
	require.Equal(t, StateDown, st.State)
	require.Contains(t, st.LastError, "HTTP 502")
	require.NotContains(t, st.LastError, "secret", "no query string in errors")
	require.EqualValues(t, 2, st.Successes)
	require.EqualValues(t, 1, st.Failures)
	require.Equal(t, []string{"prometheus"}, r.Down())

	srv.Close()
	get()
	require.Equal(t, StateDown, d.Status().State)
}

func TestProbesAndOrdering(t *testing.T) {
	r := New()
	fail := errors.New("connection refused")
	down := r.Add("b-smtp", "notify", "notify.email.smtp_addr", func(context.Context) error { return fail })
	up := r.Add("a-alertmanager", "alertmanager", "alertmanager.url", func(context.Context) error { return nil })
	r.Add("c-nothing", "llm", "providers", nil)
	require.Same(t, up, r.Add("a-alertmanager", "x", "y", nil), "one dependency per name")

	failed := r.Probe(context.Background(), time.Second)
	require.Len(t, failed, 1)
	require.Equal(t, "b-smtp", failed[0].Name)
	require.Equal(t, "connection refused", failed[0].LastError)
	names := []string{}
	for _, s := range r.Snapshot() {
		names = append(names, s.Name+"="+s.State)
	}
	require.Equal(t, []string{"a-alertmanager=up", "b-smtp=down", "c-nothing=unknown"}, names)

	// A newer traffic success is not overwritten by an older probe result.
	down.record(time.Now().Add(-time.Minute), fail)
	down.Success()
	down.record(time.Now().Add(-time.Second), fail)
	require.Equal(t, StateUp, down.Status().State)

	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(r.Collector()))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "vigil_dependency_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" {
					got[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	require.Equal(t, map[string]float64{"a-alertmanager": 1, "b-smtp": 1, "c-nothing": -1}, got)
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{"https://hooks.slack.com/x": "hooks.slack.com:443", "http://a:9/x": "a:9", "http://b/": "b:80"} {
		got, ok := HostPort(in)
		require.True(t, ok)
		require.Equal(t, want, got)
	}
	_, ok := HostPort("not a url")
	require.False(t, ok)
}
