package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/starter"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// TestServerAndWorkerOnPostgres runs the production shape: `vigil server` and `vigil worker` as
// separate processes' worth of wiring against an external Temporal server and PostgreSQL, joined
// only by Temporal and the database.
func TestServerAndWorkerOnPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL, schema, conn := testenv.PostgresSchema(t, "vigil_prod_test")

	temporal := testenv.StartTemporal(t, "")
	environ := []string{
		"TEMPORAL_ADDRESS=" + temporal.FrontendHostPort(),
		"DATABASE_URL=" + dbURL,
		"VIGIL_HTTP_ADDRESS=127.0.0.1:0",
		"VIGIL_AUTH_API_KEYS_0_CLIENT=ops-bot",
		"VIGIL_AUTH_API_KEYS_0_ORG=acme",
		"VIGIL_AUTH_API_KEYS_0_KEY_HASH=" + config.HashAPIKey("prod-test-key"),
		"VIGIL_AUTH_HMAC_SECRETS_0_NAME=apm",
		"VIGIL_AUTH_HMAC_SECRETS_0_SECRET_ENV=APM_SIGNING_SECRET",
		"APM_SIGNING_SECRET=prod-signing-secret",
	}
	cfg, err := config.Load("", environ)
	require.NoError(t, err)
	require.NoError(t, cfg.ValidateProduction())

	start := func(mode app.Mode) *app.App {
		a, err := app.Start(ctx, mode, cfg, testenv.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			a.Close(c)
		})
		return a
	}
	w := start(app.ModeWorker)
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+w.HTTPAddr()+"/healthz", nil), "a worker serves /healthz")
	require.Equal(t, http.StatusNotFound, getJSON(t, "http://"+w.HTTPAddr()+"/v1/incidents", nil), "but not the API")
	s := start(app.ModeServer)
	require.Nil(t, s.Worker, "a server runs no worker")
	base := "http://" + s.HTTPAddr()

	var health struct {
		Status string `json:"status"`
		Store  struct {
			Backend string `json:"backend"`
		} `json:"store"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/healthz", &health))
	require.Equal(t, "postgres", health.Store.Backend)

	body, _ := profile.Example("network-delay")
	// vigil server never accepts a request without a valid key.
	code, out, _ := post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusUnauthorized, code, string(out))
	apiKey = "wrong-key"
	code, _, _ = post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusUnauthorized, code)
	apiKey = "prod-test-key"
	t.Cleanup(func() { apiKey = "" })
	code, out, _ = post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status)
	_, err = analyst.ParseReport(v.Report)
	require.NoError(t, err)
	require.Contains(t, v.Report, "pay.partner.example.com")

	// An alerting system signs its webhook instead of holding an API key.
	signed, _ := profile.Example("exception")
	req, err := http.NewRequest(http.MethodPost, base+"/v1/alerts/apm", bytes.NewReader(signed))
	require.NoError(t, err)
	ts, sig := starter.SignWebhook([]byte("prod-signing-secret"), time.Now(), signed)
	req.Header.Set(starter.HeaderTimestamp, ts)
	req.Header.Set(starter.HeaderSignature, sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	req, _ = http.NewRequest(http.MethodPost, base+"/v1/alerts/apm", bytes.NewReader(append(signed, ' ')))
	req.Header.Set(starter.HeaderTimestamp, ts)
	req.Header.Set(starter.HeaderSignature, sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a body changed after signing is refused")

	// The report is in PostgreSQL, where the worker wrote it.
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+".incidents WHERE workflow_id = $1 AND status = 'completed'", acc.WorkflowID).Scan(&n))
	require.Equal(t, 1, n)
}

func TestServerRefusesToStartWithoutDatabase(t *testing.T) {
	cfg, err := config.Load("", []string{"TEMPORAL_ADDRESS=127.0.0.1:1"})
	require.NoError(t, err)
	err = cfg.ValidateProduction()
	require.Error(t, err)
	require.Contains(t, err.Error(), "database")
}
