package starter

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/depstatus"
	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/workflows"
)

// DefaultMaxBodyBytes is the request body limit when none is configured (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// API serves Vigil's HTTP endpoints.
type API struct {
	Temporal     client.Client
	Store        store.Store
	Logger       *slog.Logger
	Registry     *prometheus.Registry
	TaskQueue    string
	MaxBodyBytes int64
	// Roles is the role service behind /v1/roles.
	Roles *roles.Service
	// Gateway answers POST /v1/roles/{code}/invoke synchronously; nil: no invoke route.
	Gateway *gateway.Gateway
	// RoleCache serves the current version of roles to invokes; nil: read from Roles.
	RoleCache *gateway.RoleCache
	// Auth authenticates /v1 requests; nil lets nobody in.
	Auth *Auth

	// ChangeCheckpoints are the change-tracking checkpoints (change_tracking.checkpoints).
	ChangeCheckpoints []time.Duration
	// AppCheckpoints are per-application schedules by application name
	// (change_tracking.applications).
	AppCheckpoints map[string][]time.Duration
	// ChangeNotify is change_tracking.notify: which checkpoints are pushed to people.
	ChangeNotify string
	// Tuning is the input of code-tuning runs started through the API (code_tuning); an empty
	// repository turns the endpoint off.
	Tuning workflows.TuningInput
	// MCP serves the MCP tools (streamable HTTP) at /mcp for authenticated clients; nil: off.
	MCP http.Handler
	// TwilioAuthToken verifies Twilio's webhooks (the on-call's calls); "" turns them off.
	TwilioAuthToken string
	// PublicURL is the address Twilio calls (http.public_url): signatures cover it.
	PublicURL string
	// AllowedHosts are the Host names requests may carry (see browserGuard); loopback addresses
	// are always allowed; "*" or an empty list allows any.
	AllowedHosts []string
	// Codec serves the payload codec at /codec/ (the Temporal Web UI decodes payloads through
	// it); nil: off. CodecOrigins are the Web UI origins that may call it from a browser.
	Codec        http.Handler
	CodecOrigins []string
	// GroupWindow and IncidentLifetime shape alert-group incidents (defaults
	// DefaultGroupWindow and DefaultIncidentLifetime).
	GroupWindow      time.Duration
	IncidentLifetime time.Duration
	// ApplicationLabel is the alert label that names the application (alerts.application_label),
	// tried before DefaultApplicationLabels.
	ApplicationLabel string
	// Investigation tunes the investigation of every incident (alerts.investigation).
	Investigation workflows.InvestigationOptions
	// HealthOnly serves only /healthz and /metrics (what a `vigil worker` exposes).
	HealthOnly bool
	// EagerStart asks the server to hand the first workflow task straight back to this
	// process's worker (only useful when a worker runs in the same process).
	EagerStart bool
	// Sources are the secrets of the built-in alert sources (POST /v1/alerts/{source}).
	Sources Sources
	// Deps is the status of the configured integrations (GET /v1/status; /healthz names the ones
	// that are down). Nil: none tracked.
	Deps *depstatus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// Handler returns the routed handler with logging, metrics and panic recovery.
func (a *API) Handler() http.Handler {
	if a.TaskQueue == "" {
		a.TaskQueue = workflows.TaskQueue
	}
	if a.GroupWindow <= 0 {
		a.GroupWindow = DefaultGroupWindow
	}
	if a.IncidentLifetime <= 0 {
		a.IncidentLifetime = DefaultIncidentLifetime
	}
	if a.MaxBodyBytes <= 0 {
		a.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.Registry == nil {
		a.Registry = prometheus.NewRegistry()
	}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	a.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vigil_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	_ = a.Registry.Register(a.requests)
	_ = a.Registry.Register(a.latency)

	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, a.instrument(pattern, h)) }
	route("GET /healthz", a.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{Registry: a.Registry}))
	if !a.HealthOnly {
		auth := a.requireAuth
		route("POST /v1/alerts/apm", a.webhook(a.postAPMAlert))
		route("POST /v1/alerts/alertmanager", a.webhook(a.postAlertmanager))
		// Named sources verify their sender their own way (a signature or a token of their own).
		route("POST /v1/alerts/{source}", a.postSourceAlert)
		route("GET /v1/incidents", auth(a.listIncidents))
		route("GET /v1/incidents/{workflowId}", auth(a.getIncident))
		if a.Roles != nil {
			route("GET /v1/roles", auth(a.listRoles))
			route("POST /v1/roles", auth(a.putRole))
			route("GET /v1/roles/{code}", auth(a.getRole))
			route("PUT /v1/roles/{code}", auth(a.putRole))
			route("DELETE /v1/roles/{code}", auth(a.deleteRole))
			route("GET /v1/roles/{code}/versions", auth(a.roleVersions))
			route("POST /v1/roles/{code}/restore", auth(a.restoreRole))
			if a.Gateway != nil {
				route("POST /v1/roles/{code}/invoke", auth(a.invokeRole))
				route("POST /v1/chat/completions", auth(a.chatCompletions))
				route("GET /v1/models", auth(a.listModels))
			}
			route("POST /v1/roles/{code}/runs", auth(a.postRoleRun))
			route("GET /v1/roles/{code}/runs/{id}", auth(a.getRoleRun))
		}
		route("GET /v1/usage", auth(a.usage))
		route("GET /v1/status", auth(a.status))
		route("POST /v1/deployments", auth(a.postDeployment))
		if a.MCP != nil {
			route("/mcp", auth(a.MCP.ServeHTTP))
		}
		route("POST /v1/code-tuning/runs", auth(a.postTuningRun))
		route("GET /v1/code-tuning/runs/{id}", auth(a.getTuningRun))
		route("GET /v1/oncall/{id}", auth(a.getOnCall))
		route("POST /v1/oncall/{id}/ack", auth(a.postOnCallAck))
		// Twilio's webhooks carry its signature instead of Vigil's credentials.
		route("POST /v1/oncall/{id}/twilio/gather", a.postTwilioGather)
		route("POST /v1/oncall/{id}/twilio/status", a.postTwilioStatus)
		route("GET /v1/deployments", auth(a.listDeployments))
		route("GET /v1/deployments/{id}", auth(a.getDeployment))
		route("GET /v1/deployments/{id}/gate", auth(a.getGate))
		route("POST /v1/deployments/{id}/events", auth(a.postDeploymentEvent))
		// GitHub authenticates by X-Hub-Signature-256 (auth.github_secrets), not by API key.
		route("POST /v1/deployments/github", a.postGitHub)
		if a.Codec != nil {
			route("/codec/", a.Codec.ServeHTTP)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Status: http.StatusNotFound, Detail: "no route for " + r.Method + " " + r.URL.Path})
	})
	return a.recoverer(a.browserGuard(mux))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush passes flushes through: the MCP endpoint streams server-sent events.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines of long streams).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *API) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r)
		d := time.Since(start)
		a.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		a.latency.WithLabelValues(route).Observe(d.Seconds())
		a.Logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", d))
	})
}

func (a *API) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.Logger.Error("panic in handler", "path", r.URL.Path, "panic", v)
				writeProblem(w, Problem{Status: http.StatusInternalServerError, Detail: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// readBody reads a request body under the size limit, answering 413 beyond it.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, Problem{Status: http.StatusRequestEntityTooLarge,
				Detail: "request body exceeds the limit of " + itoa(mbe.Limit) + " bytes (http.max_body_bytes)"})
			return nil, false
		}
		writeProblem(w, Problem{Status: http.StatusBadRequest, Detail: "read body: " + err.Error()})
		return nil, false
	}
	return body, true
}

type check struct {
	OK        bool   `json:"ok"`
	LatencyMS int64  `json:"latencyMs"`
	Error     string `json:"error,omitempty"`
	Backend   string `json:"backend,omitempty"`
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	run := func(f func(context.Context) error) check {
		start := time.Now()
		err := f(ctx)
		c := check{OK: err == nil, LatencyMS: time.Since(start).Milliseconds()}
		if err != nil {
			c.Error = err.Error()
		}
		return c
	}
	temporalCheck := run(func(ctx context.Context) error {
		_, err := a.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	storeCheck := run(a.Store.Ping)
	storeCheck.Backend = a.Store.Backend()
	status, code := "ok", http.StatusOK
	body := map[string]any{"temporal": temporalCheck, "store": storeCheck}
	if down := a.Deps.Down(); len(down) > 0 {
		// Liveness stays Temporal and the store: integrations that are down degrade, never fail.
		status, body["down"] = "degraded", down
	}
	if !temporalCheck.OK || !storeCheck.OK {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	body["status"] = status
	writeJSON(w, code, body)
}
