package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Options configure an embedded Temporal server.
type Options struct {
	// DatabaseFile is the SQLite file that holds every namespace, workflow and timer. It is
	// created (with its schema) when missing. Empty means an in-memory database that is lost
	// when the process ends.
	DatabaseFile string
	// Address is the frontend gRPC listen address (host:port). Port 0 picks a free port.
	Address string
	// UIAddress is where the Temporal Web UI listens (host:port); empty disables the UI.
	UIAddress string
	// CodecEndpoint is the remote payload codec URL the Web UI uses to decode payloads.
	CodecEndpoint string
	// Namespace is created at start when missing. Default "default".
	Namespace string
	// SearchAttributes are registered on the namespace when it is created.
	SearchAttributes map[string]enumspb.IndexedValueType
	// SQLitePragmas override the file database's pragmas. The default is journal_mode=wal with
	// synchronous=1 (NORMAL): a committed transaction survives a crash or kill of the process
	// (the restart test proves it) but the last ones may be lost on power loss; set "2" (FULL)
	// to trade ~40% of concurrent throughput for that (docs/benchmarks.md).
	SQLitePragmas map[string]string
	// DynamicConfig overrides server dynamic-config values by key.
	DynamicConfig map[string]any
	// Logger receives the server's logs; LogLevel filters them (default warn: the server is chatty).
	Logger   *slog.Logger
	LogLevel slog.Level
}

// Server is a running embedded Temporal server, optionally with its Web UI.
type Server struct {
	srv       temporal.Server
	ui        *uiserver.Server
	uiDone    chan error
	hostPort  string
	uiAddr    string
	namespace string
	stopOnce  sync.Once
	stopErr   error
}

// Start builds and starts the server and, when configured, the Web UI. It returns once the
// frontend accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Address == "" {
		o.Address = "127.0.0.1:0"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.LogLevel == 0 {
		o.LogLevel = slog.LevelWarn
	}
	host, port, err := splitHostPort(o.Address)
	if err != nil {
		return nil, fmt.Errorf("temporal address %q: %w", o.Address, err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	} else if err := checkPortFree(host, port); err != nil {
		return nil, fmt.Errorf("temporal address %s is taken (is another Temporal or vigil dev running?): stop it, or choose another address with --temporal (%v)", o.Address, unwrapOp(err))
	}
	hostPort := net.JoinHostPort(host, strconv.Itoa(port))
	// The UI's address is checked before the server starts, so that a taken port stops Start
	// before the server has anything to log.
	var uiHost string
	var uiPort int
	if o.UIAddress != "" {
		uiHost, uiPort, err = splitHostPort(o.UIAddress)
		if err == nil && uiPort == 0 {
			uiPort, err = freePort(uiHost)
		}
		if err == nil {
			err = checkPortFree(uiHost, uiPort)
		}
		if err != nil {
			return nil, fmt.Errorf("temporal UI address %s is not usable (%v): stop what holds it, or choose another address with --ui (\"off\" disables the UI)", o.UIAddress, unwrapOp(err))
		}
	}

	sqlConf, err := sqlConfig(o)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(host, port, sqlConf)
	if err != nil {
		return nil, err
	}
	if testHookConfig != nil {
		testHookConfig(conf)
	}
	var starting atomic.Bool
	starting.Store(true)
	defer starting.Store(false)
	logger := newSlogLogger(o.Logger, o.LogLevel, &starting)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Eager workflow start lets a starter that is also a worker run the first task without
		// a round trip through matching.
		dynamicconfig.EnableEagerWorkflowStart.Key(): true,
		// One partition per task queue: with one worker process, more partitions only make
		// polls miss tasks that wait in another partition (p95 latency, docs/benchmarks.md).
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
		// The history queues poll their shard at most 20 times a second by default: with the
		// single shard of an embedded server every task after an activity waited up to 50 ms
		// (40 ms at p50) before being dispatched. 1000 polls a second removes that wait.
		dynamicconfig.TransferProcessorMaxPollRPS.Key():   1000,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():      1000,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): 1000,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():   1000,
		// A client waiting for a workflow's result long-polls its history. About one wait in a
		// few hundred misses the close notification here and sat out the whole 20 s poll before
		// seeing the result (measured: 1 in 218 sequential probe workflows); 2 s bounds that.
		dynamicconfig.HistoryLongPollExpirationInterval.Key(): 2 * time.Second,
	}
	for k, v := range o.DynamicConfig {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	svcHost := func(name primitives.ServiceName) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(conf.Services[string(name)].RPC.GRPCPort)))
	}
	srv, err := newServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: svcHost(primitives.FrontendService),
			primitives.MatchingService: svcHost(primitives.MatchingService),
			primitives.HistoryService:  svcHost(primitives.HistoryService),
			primitives.WorkerService:   svcHost(primitives.WorkerService),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, startError(err)
	}
	if err := startServer(srv); err != nil {
		return nil, startError(err)
	}
	starting.Store(false)
	s := &Server{srv: srv, hostPort: hostPort, namespace: o.Namespace}

	if o.UIAddress != "" {
		s.uiAddr = net.JoinHostPort(uiHost, strconv.Itoa(uiPort))
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost,
			Port:                uiPort,
			TemporalGRPCAddress: hostPort,
			EnableUI:            true,
			Codec:               uiconfig.Codec{Endpoint: o.CodecEndpoint},
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
			DefaultNamespace:    o.Namespace,
		}))
		s.uiDone = make(chan error, 1)
		go func() { s.uiDone <- s.ui.Start() }()
	}

	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	if s.uiDone != nil {
		select {
		case err := <-s.uiDone:
			_ = s.Stop()
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("temporal UI address %s was taken by another process while starting (%v): free it, or choose another with --ui", s.uiAddr, err)
			}
			return nil, fmt.Errorf("temporal UI on %s: %w", s.uiAddr, err)
		default:
		}
	}
	if err := s.ensureSearchAttributes(ctx, o.SearchAttributes); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// testHookConfig, when set by a test, sees the server configuration before the server is built
// (to take one of its ports).
var testHookConfig func(*config.Config)

// newServer is temporal.NewServer with a Fatal log call of the server turned into an error.
func newServer(opts ...temporal.ServerOption) (srv temporal.Server, err error) {
	defer recoverFatal(&err)
	return temporal.NewServer(opts...)
}

// startServer is srv.Start with a Fatal log call of the server turned into an error.
func startServer(srv temporal.Server) (err error) {
	defer recoverFatal(&err)
	return srv.Start()
}

func recoverFatal(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(fatalLog)
		if !ok {
			panic(r)
		}
		*err = f
	}
}

// startError says in one line why the embedded server did not start and what to do.
func startError(err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("embedded temporal server: an internal port was taken by another process between its check and its bind (%v): start vigil dev again, it picks fresh internal ports", oneLine(err))
	}
	return fmt.Errorf("embedded temporal server did not start: %s", oneLine(err))
}

// unwrapOp drops the "listen tcp <addr>:" prefix of a listen error, whose address the message
// already names.
func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// oneLine joins a multi-line error message (the server's fx errors span lines) into one.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// ensureSearchAttributes registers the search attributes a namespace created by an earlier
// version lacks (a new one is created with all of them).
func (s *Server) ensureSearchAttributes(ctx context.Context, want map[string]enumspb.IndexedValueType) error {
	if len(want) == 0 {
		return nil
	}
	c, err := client.Dial(client.Options{HostPort: s.hostPort, Namespace: s.namespace, Logger: nopLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, t := range want {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = t
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: s.namespace, SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// waitReady polls the frontend until the namespace answers.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c, err := client.Dial(client.Options{HostPort: s.hostPort, Namespace: s.namespace, Logger: nopLogger{}})
	if err != nil {
		return fmt.Errorf("connect to embedded temporal: %w", err)
	}
	defer c.Close()
	for {
		_, err := c.WorkflowService().DescribeNamespace(ctx, describeNamespace(s.namespace))
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded temporal did not become ready: %w", errors.Join(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FrontendHostPort is the address SDK clients dial.
func (s *Server) FrontendHostPort() string { return s.hostPort }

// UIAddress is the Web UI's host:port, empty when the UI is disabled.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace is the namespace created at start.
func (s *Server) Namespace() string { return s.namespace }

// NewClient dials the embedded server with the given options (HostPort and, when empty,
// Namespace are filled in).
func (s *Server) NewClient(o client.Options) (client.Client, error) {
	o.HostPort = s.hostPort
	if o.Namespace == "" {
		o.Namespace = s.namespace
	}
	return client.Dial(o)
}

// Stop stops the UI and the server. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.ui != nil {
			s.ui.Stop()
		}
		s.stopErr = s.srv.Stop()
	})
	return s.stopErr
}

func sqlConfig(o Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.DatabaseFile == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = "vigil-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	} else {
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "1"}
		for k, v := range o.SQLitePragmas {
			conf.ConnectAttributes[k] = v
		}
		conf.DatabaseName = o.DatabaseFile
		if err := os.MkdirAll(filepath.Dir(o.DatabaseFile), 0o750); err != nil {
			return nil, fmt.Errorf("temporal data dir: %w", err)
		}
		if _, err := os.Stat(o.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				_ = os.Remove(o.DatabaseFile)
				return nil, fmt.Errorf("set up temporal schema in %s: %w", o.DatabaseFile, err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", o.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", o.Namespace, err)
	}
	return conf, nil
}

func serverConfig(host string, port int, sqlConf *config.SQL) (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	httpPort, err := freePort(host)
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(host, strconv.Itoa(port)),
				HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(httpPort)),
				ClusterID:              devClusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = host
		if name == "frontend" {
			svc.RPC.GRPCPort = port
			svc.RPC.HTTPPort = httpPort
		} else {
			p, err := freePort(host)
			if err != nil {
				return nil, err
			}
			svc.RPC.GRPCPort = p
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(port))
	return &conf, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", p)
	}
	return host, port, nil
}

// devClusterID is the fixed cluster ID of every embedded server (the server wants a UUID and
// regenerates one at each start otherwise).
const devClusterID = "6f1d2a8e-0b7c-4e59-9a3d-5c2f7e8b1a40"
