package starter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/store"
)

// fakeStore answers Ping and the incident reads; every other method panics if called.
type fakeStore struct {
	store.Store
	pingErr error
}

func (f fakeStore) Ping(context.Context) error { return f.pingErr }
func (f fakeStore) Backend() string            { return "fake" }
func (f fakeStore) GetIncident(context.Context, string) (store.Incident, error) {
	return store.Incident{}, store.ErrNotFound
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	h.ServeHTTP(rec, req)
	return rec
}

func TestHealthzReportsEachDependency(t *testing.T) {
	c := &mocks.Client{}
	c.On("CheckHealth", mock.Anything, mock.Anything).Return(&client.CheckHealthResponse{}, nil)
	api := &API{Temporal: c, Store: fakeStore{pingErr: errors.New("disk full")}}
	rec := do(api.Handler(), http.MethodGet, "/healthz", "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	var body struct {
		Status   string `json:"status"`
		Temporal check  `json:"temporal"`
		Store    check  `json:"store"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, "unavailable", body.Status)
	require.True(t, body.Temporal.OK)
	require.False(t, body.Store.OK)
	require.Equal(t, "disk full", body.Store.Error)
}

func TestAlertWebhookStartsOrJoins(t *testing.T) {
	raw, _ := profile.Example("slow-sql")
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetRunID").Return("run-1")
	var gotOpts client.StartWorkflowOptions
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { gotOpts = args.Get(1).(client.StartWorkflowOptions) }).
		Return(run, nil).Once()
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already", "", "run-1")).Once()
	h := (&API{Temporal: c, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()

	rec := do(h, http.MethodPost, "/v1/alerts/apm", string(raw))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	var first AlertAccepted
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &first))
	require.Equal(t, "started", first.Status)
	require.Equal(t, gotOpts.ID, first.WorkflowID)
	require.True(t, gotOpts.WorkflowExecutionErrorWhenAlreadyStarted)

	rec = do(h, http.MethodPost, "/v1/alerts/apm", string(raw))
	require.Equal(t, http.StatusAccepted, rec.Code)
	var second AlertAccepted
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &second))
	require.Equal(t, "joined", second.Status)
	require.Equal(t, first.WorkflowID, second.WorkflowID)
}

func TestAlertWebhookRejectsBadBodies(t *testing.T) {
	h := (&API{Temporal: &mocks.Client{}, Store: fakeStore{}, MaxBodyBytes: 100, Auth: &Auth{Anonymous: true}}).Handler()
	cases := []struct {
		name, body string
		code       int
	}{
		{"syntax", `{"rule":`, http.StatusBadRequest},
		{"schema", `{"rule":"x"}`, http.StatusUnprocessableEntity},
		{"too large", `{"rule":"` + strings.Repeat("x", 200) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := do(h, http.MethodPost, "/v1/alerts/apm", c.body)
			require.Equal(t, c.code, rec.Code, rec.Body.String())
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		})
	}
}

func TestUnknownRouteAndBadQuery(t *testing.T) {
	h := (&API{Temporal: &mocks.Client{}, Store: fakeStore{}, Auth: &Auth{Anonymous: true}}).Handler()
	rec := do(h, http.MethodGet, "/v1/nope", "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	rec = do(h, http.MethodGet, "/v1/incidents?limit=zero", "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), `"field":"limit"`)
}
