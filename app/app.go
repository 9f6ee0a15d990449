package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/alertmap"
	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/codec"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/depstatus"
	"github.com/vigil-ops/vigil/devserver"
	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/llm/openai"
	"github.com/vigil-ops/vigil/mcpserver"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/obs"
	"github.com/vigil-ops/vigil/oncall"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/starter"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tracesource"
	"github.com/vigil-ops/vigil/tuning"
	"github.com/vigil-ops/vigil/usagelog"
	"github.com/vigil-ops/vigil/worker"
	"github.com/vigil-ops/vigil/workflows"
)

// Mode selects which parts a process runs.
type Mode int

// The process modes.
const (
	ModeDev    Mode = iota // embedded Temporal + UI, worker, HTTP API
	ModeServer             // HTTP API against an external Temporal
	ModeWorker             // worker against an external Temporal
)

// App is a running Vigil process.
type App struct {
	Config   *config.Config
	Logger   *slog.Logger
	Temporal *devserver.Server // nil unless ModeDev
	Client   client.Client
	Store    store.Store
	Worker   sdkworker.Worker // nil in ModeServer
	Metrics  *obs.Metrics
	// Providers are the configured LLM providers (and the built-in analyst).
	Providers *llm.Registry
	// Roles is the role service over the store.
	Roles *roles.Service
	// Deps is the status of every configured integration (GET /v1/status).
	Deps *depstatus.Registry

	linkWorkers []sdkworker.Worker
	stopProbes  context.CancelFunc
	usage       *usagelog.Sink
	gatewayLog  *gateway.UsageLog
	roleCache   *gateway.RoleCache
	closeOnce   sync.Once

	httpServer *http.Server
	httpLn     net.Listener
	httpDone   chan error
	dirLock    *os.File // `vigil dev`'s lock on its data directory
}

// GatewayUsage returns the counters of the synchronous gateway's usage log (zero when the
// process serves no API).
func (a *App) GatewayUsage() gateway.UsageStats {
	if a.gatewayLog == nil {
		return gateway.UsageStats{}
	}
	return a.gatewayLog.Stats()
}

// HTTPAddr is the address the HTTP API listens on ("" when it does not run).
func (a *App) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// Start brings up the parts of mode, one step after the other: the process's own metrics and
// the status of its integrations, the HTTP listener, the embedded Temporal server (dev), the
// store, the Temporal client, the LLM providers and roles, the workers (dev, worker), the HTTP
// API and the integration probes. On error, whatever was started is stopped again.
func Start(ctx context.Context, mode Mode, cfg *config.Config, logger *slog.Logger) (_ *App, err error) {
	a := &App{Config: cfg, Logger: logger}
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()
	if err := a.observe(); err != nil {
		return nil, err
	}
	// Listen first, so the embedded Web UI can be told the codec endpoint's real address.
	if err := a.listen(mode); err != nil {
		return nil, err
	}
	payloadCodec, err := buildCodec(cfg, mode, logger)
	if err != nil {
		return nil, err
	}
	if mode == ModeDev {
		if err := a.startTemporal(ctx); err != nil {
			return nil, err
		}
	}
	if err := a.openStore(ctx, mode); err != nil {
		return nil, err
	}
	if err := a.dial(ctx, payloadCodec); err != nil {
		return nil, err
	}
	if err := a.loadProviders(ctx, mode); err != nil {
		return nil, err
	}
	if mode != ModeServer {
		if err := a.startWorkers(ctx, mode); err != nil {
			return nil, err
		}
	}
	if err := a.serveHTTP(ctx, mode, payloadCodec); err != nil {
		return nil, err
	}
	a.startProbes()
	return a, nil
}

// observe sets up the process's metrics and the status registry of the configured
// integrations (GET /v1/status, the vigil_dependency_up metric).
func (a *App) observe() (err error) {
	if a.Metrics, err = obs.NewMetrics(); err != nil {
		return err
	}
	a.Deps = depstatus.New()
	registerDeps(a.Config, a.Deps)
	_ = a.Metrics.Registry.Register(a.Deps.Collector())
	return nil
}

// listen takes the HTTP address (and, for `vigil dev`, the lock on its data directory), naming
// the key to change when the address is taken.
func (a *App) listen(mode Mode) (err error) {
	cfg := a.Config
	if mode == ModeDev {
		if a.dirLock, err = devDataDir(cfg.DataDir); err != nil {
			return err
		}
	}
	if a.httpLn, err = net.Listen("tcp", cfg.HTTP.Address); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("http.address %s is taken (is another vigil running?): stop it, or choose another address with --http or http.address", cfg.HTTP.Address)
		}
		return fmt.Errorf("http.address %s: %w", cfg.HTTP.Address, err)
	}
	return nil
}

// startTemporal starts `vigil dev`'s embedded Temporal server and Web UI, the UI decoding
// payloads through this process's codec endpoint.
func (a *App) startTemporal(ctx context.Context) (err error) {
	cfg, start := a.Config, time.Now()
	a.Temporal, err = devserver.Start(ctx, devserver.Options{
		DatabaseFile:     cfg.DevTemporalDB(),
		Address:          cfg.Temporal.Address,
		UIAddress:        cfg.Dev.UIAddress,
		Namespace:        cfg.Temporal.Namespace,
		SearchAttributes: workflows.SearchAttributes(),
		CodecEndpoint:    "http://" + a.HTTPAddr() + "/codec",
		Logger:           a.Logger,
	})
	if err != nil {
		return err
	}
	a.Logger.Info("embedded temporal server started", "address", a.Temporal.FrontendHostPort(),
		"ui", uiURL(a.Temporal.UIAddress()), "db", cfg.DevTemporalDB(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// openStore opens Vigil's database (database.url; `vigil dev`'s SQLite file by default).
func (a *App) openStore(ctx context.Context, mode Mode) error {
	dsn, err := a.Config.DatabaseURL(mode == ModeDev)
	if err != nil {
		return err
	}
	if a.Store, err = store.Open(ctx, dsn); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

// dial connects the Temporal client (the embedded server, else temporal.address with its TLS
// and API key), every payload through the codec when there is one; against an external server
// it checks the search attributes Vigil needs.
func (a *App) dial(ctx context.Context, payloadCodec converter.PayloadCodec) (err error) {
	cfg := a.Config
	copts := client.Options{
		HostPort:       cfg.Temporal.Address,
		Namespace:      cfg.Temporal.Namespace,
		Logger:         sdklog.NewStructuredLogger(a.Logger.With("component", "temporal-sdk")),
		MetricsHandler: a.Metrics.SDK,
	}
	if payloadCodec != nil {
		dc := codec.DataConverter(payloadCodec)
		copts.DataConverter = dc
		copts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter: dc, EncodeCommonAttributes: true,
		})
	}
	if a.Temporal != nil {
		copts.HostPort = a.Temporal.FrontendHostPort()
	} else if err := connectionOptions(cfg, &copts); err != nil {
		return err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if a.Client, err = client.DialContext(dialCtx, copts); err != nil {
		return fmt.Errorf("connect to temporal at %s (namespace %s): %w", copts.HostPort, copts.Namespace, err)
	}
	if a.Temporal == nil {
		CheckSearchAttributes(ctx, a.Client, cfg.Temporal.Namespace, a.Logger)
	}
	return nil
}

// loadProviders registers the LLM providers and the role service over them; a process that
// serves the API (dev, server) also loads the default role pack and roles_dir.
func (a *App) loadProviders(ctx context.Context, mode Mode) (err error) {
	if a.Providers, err = BuildProviders(a.Config); err != nil {
		return err
	}
	trackProviders(a.Deps, a.Providers)
	a.Roles = &roles.Service{Store: a.Store, Catalog: a.Providers}
	// The synchronous gateway serves roles from memory; every change through this process
	// drops the role from it at once.
	a.roleCache = &gateway.RoleCache{Catalog: a.Providers, TTL: a.Config.Gateway.RoleCacheTTL,
		Load: func(ctx context.Context, code string) (roles.Versioned, error) { return a.Roles.Get(ctx, code, 0) }}
	a.Roles.OnChange = a.roleCache.Invalidate
	if mode == ModeWorker {
		return nil
	}
	return a.loadRoles(ctx)
}

// startWorkers wires the activities to what the configuration names (notify channels, trace
// sources, Prometheus and Alertmanager, the phone, GitHub, the usage log) and starts the worker
// of the task queue and one worker per model queue.
func (a *App) startWorkers(ctx context.Context, mode Mode) (err error) {
	cfg, logger := a.Config, a.Logger
	pubURL := cfg.HTTP.PublicURL
	if pubURL == "" && mode == ModeDev {
		pubURL = "http://" + a.HTTPAddr() // links and Twilio callbacks reach this process
	}
	acts := worker.Activities{
		Gateway:  &activities.Gateway{Store: a.Store, Providers: a.Providers, Logger: logger},
		Incident: &activities.Incident{Store: a.Store, Thresholds: analyst.DefaultThresholds()},
		Change:   &activities.Change{Store: a.Store, Logger: logger},
		Delivery: &activities.Delivery{Store: a.Store, Logger: logger, PublicURL: pubURL},
	}
	if acts.Delivery.Channels, err = notify.FromConfig(cfg.Notify, cfg.Secret); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if acts.Incident.Traces, err = tracesource.FromConfig(cfg.Traces, cfg.Secret); err != nil {
		return fmt.Errorf("traces: %w", err)
	}
	if err := wireChangeSources(cfg, acts.Change, acts.Incident, a.Deps); err != nil {
		return err
	}
	if acts.OnCall, err = wireOnCall(cfg, a.Store, logger, pubURL, a.Deps); err != nil {
		return err
	}
	if acts.Tuning, err = wireTuning(cfg, a.Store, a.Deps); err != nil {
		return err
	}
	if err := wireInvestigation(cfg, acts.Incident, a.Deps); err != nil {
		return err
	}
	trackActivities(a.Deps, acts.Delivery, acts.Incident)
	if err := a.openUsageSink(ctx); err != nil {
		return err
	}
	if a.usage != nil {
		acts.Gateway.UsageSink = a.usage
	}
	acts.Gateway.Budget = gateway.NewStoreBudget(a.Store, a.Providers.Models())
	a.Worker = worker.New(a.Client, acts, worker.Options{TaskQueue: cfg.Temporal.TaskQueue})
	a.linkWorkers = worker.NewLinkWorkers(a.Client, acts.Gateway, cfg.Temporal.TaskQueue, a.Providers.Models())
	for _, w := range append([]sdkworker.Worker{a.Worker}, a.linkWorkers...) {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
	}
	logger.Info("worker started", "task_queue", cfg.Temporal.TaskQueue, "model_queues", len(a.linkWorkers))
	return nil
}

// serveHTTP serves the API on the listener: a worker's /healthz and /metrics only, dev's and
// server's whole API.
func (a *App) serveHTTP(ctx context.Context, mode Mode, payloadCodec converter.PayloadCodec) error {
	cfg, logger := a.Config, a.Logger
	auth, err := a.buildAuth(mode)
	if err != nil {
		return err
	}
	api, err := a.newAPI(mode, auth)
	if err != nil {
		return err
	}
	if mode != ModeWorker {
		if err := a.serveWholeAPI(ctx, api, mode, payloadCodec); err != nil {
			return err
		}
	}
	a.httpServer = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	a.httpDone = make(chan error, 1)
	go func() { a.httpDone <- a.httpServer.Serve(a.httpLn) }()
	logger.Info("http listening", "address", "http://"+a.HTTPAddr(), "health_and_metrics_only", mode == ModeWorker)
	if mode != ModeWorker && auth.Anonymous {
		logger.Warn("no credentials configured and listening on loopback: the API and webhooks accept requests without a key (as client \"dev\"); configure auth.api_keys, auth.webhook_tokens or auth.hmac_secrets to require them")
	}
	return nil
}

// newAPI is the HTTP API of the configuration: webhooks, deployments, on-call, the alert
// sources and their secrets.
func (a *App) newAPI(mode Mode, auth *starter.Auth) (api *starter.API, err error) {
	cfg := a.Config
	api = &starter.API{
		Temporal:          a.Client,
		Store:             a.Store,
		Roles:             a.Roles,
		Auth:              auth,
		Logger:            a.Logger,
		Registry:          a.Metrics.Registry,
		Deps:              a.Deps,
		TaskQueue:         cfg.Temporal.TaskQueue,
		MaxBodyBytes:      cfg.HTTP.MaxBodyBytes,
		HealthOnly:        mode == ModeWorker,
		GroupWindow:       cfg.Alerts.GroupWindow,
		ChangeCheckpoints: cfg.ChangeTracking.Checkpoints,
		AppCheckpoints:    appCheckpoints(cfg.ChangeTracking),
		ChangeNotify:      cfg.ChangeTracking.Notify,
		PublicURL:         publicURL(cfg, a),
		IncidentLifetime:  cfg.Alerts.IncidentLifetime,
		ApplicationLabel:  cfg.Alerts.ApplicationLabel,
		Investigation:     investigationOptions(cfg),
		EagerStart:        mode == ModeDev,
		AllowedHosts:      allowedHosts(cfg),
	}
	if cfg.Twilio.AccountSID != "" {
		if api.TwilioAuthToken, err = cfg.Secret(cfg.Twilio.AuthTokenEnv, cfg.Twilio.AuthTokenFile); err != nil {
			return nil, fmt.Errorf("twilio.auth_token: %w", err)
		}
	}
	if api.Sources, err = alertSources(cfg); err != nil {
		return nil, err
	}
	return api, nil
}

// serveWholeAPI adds what dev and server serve besides the webhooks: code tuning (and its
// nightly schedule), the MCP tools, and the payload codec for the Temporal Web UI.
func (a *App) serveWholeAPI(ctx context.Context, api *starter.API, mode Mode, payloadCodec converter.PayloadCodec) error {
	if err := ensureTuningSchedule(ctx, a.Client, a.Config, a.Logger); err != nil {
		return err
	}
	api.Tuning = tuningInput(a.Config)
	if err := a.openUsageSink(ctx); err != nil {
		return err
	}
	var sink gateway.Sink
	if a.usage != nil {
		sink = a.usage
	}
	a.gatewayLog = gateway.NewUsageLog(a.Store, sink, a.Config.Gateway.BatchInterval, a.Logger)
	api.Gateway = &gateway.Gateway{Providers: a.Providers, Store: a.Store, Usage: a.gatewayLog,
		Budget: gateway.NewStoreBudget(a.Store, a.Providers.Models()), MaxWait: a.Config.Gateway.MaxWait, Logger: a.Logger}
	api.RoleCache = a.roleCache
	srv := mcpserver.New(a.Store, "vigil")
	api.MCP = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	if payloadCodec != nil {
		// The Web UI decodes payloads through this endpoint, for authenticated operators.
		api.CodecOrigins = uiOrigins(a.Config, mode)
		api.Codec = codec.Handler(payloadCodec, api.CodecOrigins, func(r *http.Request) bool {
			_, err := api.Auth.Authenticate(r)
			return err == nil
		})
	}
	return nil
}

// startProbes probes each configured integration once now (a warning names each one that does
// not answer, with the key to check) and every minute after; none of them holds the start.
func (a *App) startProbes() {
	pctx, cancel := context.WithCancel(context.Background())
	a.stopProbes = cancel
	go func() {
		warnUnreachable(pctx, a.Deps, a.Logger)
		a.Deps.Run(pctx, probeInterval, probeTimeout)
	}()
}

// Close stops everything in reverse order of start; it waits for in-flight HTTP requests and
// activities up to ctx's deadline.
func (a *App) Close(ctx context.Context) {
	a.closeOnce.Do(func() { a.close(ctx) })
}

func (a *App) close(ctx context.Context) {
	if a.stopProbes != nil {
		a.stopProbes()
	}
	if a.httpServer != nil {
		if err := a.httpServer.Shutdown(ctx); err != nil {
			a.Logger.Warn("http shutdown", "error", err)
		}
		if err := <-a.httpDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Warn("http server", "error", err)
		}
	}
	if a.gatewayLog != nil {
		// Every answered invoke's usage record reaches the store (and the sink, flushed next).
		if err := a.gatewayLog.Close(ctx); err != nil {
			a.Logger.Warn("flush the gateway's usage log", "error", err)
		}
	}
	for _, w := range a.linkWorkers {
		w.Stop()
	}
	if a.Worker != nil {
		a.Worker.Stop()
	}
	if a.usage != nil {
		if err := a.usage.Close(ctx); err != nil {
			a.Logger.Warn("flush the usage log to elasticsearch", "error", err)
		}
	}
	if a.Client != nil {
		a.Client.Close()
	}
	if a.Temporal != nil {
		if err := a.Temporal.Stop(); err != nil {
			a.Logger.Warn("temporal server stop", "error", err)
		}
	}
	if a.Store != nil {
		_ = a.Store.Close()
	}
	if a.httpLn != nil && a.httpServer == nil {
		_ = a.httpLn.Close()
	}
	if a.Metrics != nil {
		_ = a.Metrics.Close()
	}
	if a.dirLock != nil {
		_ = a.dirLock.Close()
	}
}

// Wait blocks until ctx is done or the HTTP server fails.
func (a *App) Wait(ctx context.Context) error {
	if a.httpDone == nil {
		<-ctx.Done()
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-a.httpDone:
		a.httpDone <- err // let Close see it too
		return fmt.Errorf("http server stopped: %w", err)
	}
}

func connectionOptions(cfg *config.Config, o *client.Options) error {
	t := cfg.Temporal
	if t.TLS.Enabled {
		tc := &tls.Config{ServerName: t.TLS.ServerName, MinVersion: tls.VersionTLS12}
		if t.TLS.CAFile != "" {
			pem, err := os.ReadFile(t.TLS.CAFile)
			if err != nil {
				return fmt.Errorf("temporal.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("temporal.tls.ca_file: %s holds no PEM certificate", t.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if t.TLS.CertFile != "" || t.TLS.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(t.TLS.CertFile, t.TLS.KeyFile)
			if err != nil {
				return fmt.Errorf("temporal.tls.cert_file/key_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		o.ConnectionOptions.TLS = tc
	}
	if t.APIKeyEnv != "" || t.APIKeyFile != "" {
		key, err := cfg.Secret(t.APIKeyEnv, t.APIKeyFile)
		if err != nil {
			return fmt.Errorf("temporal api key: %w", err)
		}
		o.Credentials = client.NewAPIKeyStaticCredentials(key)
		if o.ConnectionOptions.TLS == nil {
			o.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	return nil
}

func uiURL(addr string) string {
	if addr == "" {
		return "disabled"
	}
	return "http://" + strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1)
}

// BuiltinAnalyst is the built-in analyst with the answer of every task kind Vigil asks: the
// incident report, the change verdict, the page decision and the code change.
func BuiltinAnalyst() *llm.Builtin {
	return llm.NewBuiltin(map[string]llm.Answerer{
		analyst.TaskIncidentReport: analyst.Answer,
		change.TaskVerdict:         change.Answer,
		oncall.TaskDecision:        oncall.Answer,
		tuning.TaskChange:          tuning.Answer,
	})
}

// BuildProviders registers the configured LLM providers and their models next to the built-in
// analyst.
func BuildProviders(cfg *config.Config) (*llm.Registry, error) {
	builtin := BuiltinAnalyst()
	reg := llm.NewRegistry(builtin)
	for i, p := range cfg.Providers {
		switch p.Type {
		case "", config.ProviderOpenAI:
			var key string
			if p.APIKeyEnv != "" || p.APIKeyFile != "" {
				k, err := cfg.Secret(p.APIKeyEnv, p.APIKeyFile)
				if err != nil {
					return nil, fmt.Errorf("providers[%d] (%s) api key: %w", i, p.Name, err)
				}
				key = k
			}
			prov, err := openai.New(openai.Config{Name: p.Name, BaseURL: p.BaseURL, APIKey: key, Timeout: p.Timeout})
			if err != nil {
				return nil, fmt.Errorf("providers[%d] (%s): %w", i, p.Name, err)
			}
			reg.Register(p.Name, prov)
		case config.ProviderBuiltin:
			reg.Register(p.Name, builtin)
		default:
			return nil, fmt.Errorf("providers[%d].type: unknown provider type %q", i, p.Type)
		}
		for _, m := range p.Models {
			reg.AddModel(llm.ModelInfo{Provider: p.Name, Model: m.Name, RPM: m.RPM,
				Price: llm.Price{InputPerMTok: m.Price.InputPerMTok, OutputPerMTok: m.Price.OutputPerMTok}})
		}
	}
	return reg, nil
}

// loadRoles stores the default role pack (codes that never existed) and the roles of
// roles_dir (a new version only where the file differs from the latest version).
func (a *App) loadRoles(ctx context.Context) error {
	added, err := a.Roles.SeedDefaults(ctx)
	if err != nil {
		return fmt.Errorf("load the default roles: %w", err)
	}
	if len(added) > 0 {
		a.Logger.Info("default roles loaded", "roles", added)
	}
	if a.Config.RolesDir == "" {
		return nil
	}
	rs, err := roles.ReadFiles(a.Config.RolesDir)
	if err != nil {
		return fmt.Errorf("roles_dir: %w", err)
	}
	for _, r := range rs {
		v, changed, err := a.Roles.Put(ctx, r, "roles_dir", "loaded from "+a.Config.RolesDir)
		if err != nil {
			return fmt.Errorf("roles_dir: %w", err)
		}
		if changed {
			a.Logger.Info("role updated from roles_dir", "role", r.Code, "version", v.Meta.Version)
		}
	}
	return nil
}

// alertSources resolves the secrets of the configured alert sources (alerts.sources).
func alertSources(cfg *config.Config) (starter.Sources, error) {
	var out starter.Sources
	src := cfg.Alerts.Sources
	if src.Sentry.Enabled() {
		v, err := cfg.Secret(src.Sentry.ClientSecretEnv, src.Sentry.ClientSecretFile)
		if err != nil {
			return out, fmt.Errorf("alerts.sources.sentry.client_secret: %w", err)
		}
		out.SentryClientSecret = []byte(v)
	}
	for _, t := range []struct {
		key string
		src config.TokenSource
		dst *[]byte
	}{{"datadog", src.Datadog, &out.DatadogToken}, {"kibana", src.Kibana, &out.KibanaToken}} {
		if !t.src.Enabled() {
			continue
		}
		v, err := cfg.Secret(t.src.TokenEnv, t.src.TokenFile)
		if err != nil {
			return out, fmt.Errorf("alerts.sources.%s.token: %w", t.key, err)
		}
		*t.dst = []byte(v)
	}
	for i, g := range src.Generic {
		v, err := cfg.Secret(g.TokenEnv, g.TokenFile)
		if err != nil {
			return out, fmt.Errorf("alerts.sources.generic[%d] (%s).token: %w", i, g.Name, err)
		}
		m, err := alertmap.Compile(g.Spec())
		if err != nil {
			return out, fmt.Errorf("alerts.sources.generic[%d] (%s): %w", i, g.Name, err)
		}
		if out.Generic == nil {
			out.Generic = map[string]starter.GenericSource{}
		}
		out.Generic[g.Name] = starter.GenericSource{Token: []byte(v), Mapper: m}
	}
	return out, nil
}

// buildAuth returns the API's authentication: the configured API keys, the keys in the store,
// and — only for `vigil dev` on a loopback address with no keys configured — anonymous access.
// `vigil server` never accepts anonymous requests.
func (a *App) buildAuth(mode Mode) (*starter.Auth, error) {
	au := &starter.Auth{Keys: map[string]starter.Principal{}, Store: a.Store}
	for _, k := range a.Config.Auth.APIKeys {
		au.Keys[strings.ToLower(k.KeyHash)] = starter.Principal{Client: k.Client, Org: k.Org}
	}
	for i, t := range a.Config.Auth.WebhookTokens {
		v, err := a.Config.Secret(t.TokenEnv, t.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("auth.webhook_tokens[%d] (%s): %w", i, t.Name, err)
		}
		au.WebhookTokens = append(au.WebhookTokens, starter.WebhookSecret{Name: t.Name, Value: []byte(v)})
	}
	for i, h := range a.Config.Auth.HMACSecrets {
		v, err := a.Config.Secret(h.SecretEnv, h.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("auth.hmac_secrets[%d] (%s): %w", i, h.Name, err)
		}
		au.HMACSecrets = append(au.HMACSecrets, starter.WebhookSecret{Name: h.Name, Value: []byte(v)})
	}
	for i, g := range a.Config.Auth.GitHubSecrets {
		v, err := a.Config.Secret(g.SecretEnv, g.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("auth.github_secrets[%d] (%s): %w", i, g.Name, err)
		}
		// One secret serving both schemes would let a request signed for one pass as the other.
		for j, h := range au.HMACSecrets {
			if subtle.ConstantTimeCompare(h.Value, []byte(v)) == 1 {
				return nil, fmt.Errorf("auth.github_secrets[%d] (%s) holds the same secret as auth.hmac_secrets[%d] (%s): give GitHub a secret of its own", i, g.Name, j, h.Name)
			}
		}
		au.GitHubSecrets = append(au.GitHubSecrets, starter.WebhookSecret{Name: g.Name, Value: []byte(v)})
	}
	configured := len(au.Keys) + len(au.WebhookTokens) + len(au.HMACSecrets) + len(au.GitHubSecrets)
	if mode == ModeDev && configured == 0 && isLoopback(a.Config.HTTP.Address) {
		au.Anonymous = true
	}
	return au, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// buildCodec returns the payload codec that encrypts every payload Vigil hands to Temporal, from
// codec.keys. `vigil dev` without configured keys uses a key of its own, created on first start in
// <data_dir>/codec.key (mode 0600). Production without keys runs in the clear, with a warning.
func buildCodec(cfg *config.Config, mode Mode, logger *slog.Logger) (converter.PayloadCodec, error) {
	keys, err := cfg.CodecKeys()
	if err != nil {
		return nil, err
	}
	active := cfg.Codec.ActiveKey
	if len(keys) == 0 {
		if mode != ModeDev {
			logger.Warn("codec.keys is empty: workflow payloads are stored in Temporal in the clear")
			return nil, nil
		}
		key, err := devCodecKey(filepath.Join(cfg.DataDir, "codec.key"))
		if err != nil {
			return nil, err
		}
		keys, active = map[string][]byte{"dev": key}, "dev"
	}
	pc, err := codec.NewPayloadCodec(keys, active)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	return pc, nil
}

func devCodecKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != codec.KeySize {
			return nil, fmt.Errorf("%s: not a base64 %d-byte key (delete it to make a new one; payloads written with it can then no longer be read)", path, codec.KeySize)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, codec.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write the dev codec key: %w", err)
	}
	return key, nil
}

// allowedHosts are the Host names the HTTP server answers to: http.allowed_hosts, the host of
// http.public_url, the host of http.address when it names one, and the loopback names.
func allowedHosts(cfg *config.Config) []string {
	hosts := append([]string(nil), starter.LoopbackHosts...)
	hosts = append(hosts, cfg.HTTP.AllowedHosts...)
	if u, err := url.Parse(cfg.HTTP.PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	if h, _, err := net.SplitHostPort(cfg.HTTP.Address); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// uiOrigins are the browser origins allowed to call the codec endpoint: the embedded Web UI's.
func uiOrigins(cfg *config.Config, mode Mode) []string {
	if mode != ModeDev || cfg.Dev.UIAddress == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(cfg.Dev.UIAddress)
	if err != nil {
		return nil
	}
	return []string{"http://127.0.0.1:" + port, "http://localhost:" + port, "http://" + cfg.Dev.UIAddress}
}

// openUsageSink starts the usage log's Elasticsearch sink when elasticsearch.urls is set, once:
// both call paths ship to it (the worker's activities and the API's gateway).
func (a *App) openUsageSink(ctx context.Context) (err error) {
	if a.usage != nil || len(a.Config.Elasticsearch.URLs) == 0 {
		return nil
	}
	a.usage, err = newUsageSink(ctx, a.Config, a.Logger, a.Deps.Add("elasticsearch", "elasticsearch", "elasticsearch.urls", nil))
	return err
}

func newUsageSink(ctx context.Context, cfg *config.Config, logger *slog.Logger, dep *depstatus.Dep) (*usagelog.Sink, error) {
	var key string
	if cfg.Elasticsearch.APIKeyEnv != "" || cfg.Elasticsearch.APIKeyFile != "" {
		k, err := cfg.Secret(cfg.Elasticsearch.APIKeyEnv, cfg.Elasticsearch.APIKeyFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch api key: %w", err)
		}
		key = k
	}
	s, err := usagelog.New(ctx, usagelog.Config{
		URLs: cfg.Elasticsearch.URLs, APIKey: key, IndexPrefix: cfg.Elasticsearch.IndexPrefix, Logger: logger,
		HTTPClient: depClient(dep, usagelog.DefaultHTTPTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch (usage log): %w", err)
	}
	return s, nil
}

// DevDataConverter returns the data converter of a `vigil dev` data directory (its codec key),
// for tools and tests that talk to the embedded server with their own client.
func DevDataConverter(dataDir string) (converter.DataConverter, error) {
	key, err := devCodecKey(filepath.Join(dataDir, "codec.key"))
	if err != nil {
		return nil, err
	}
	pc, err := codec.NewPayloadCodec(map[string][]byte{"dev": key}, "dev")
	if err != nil {
		return nil, err
	}
	return codec.DataConverter(pc), nil
}
