// Command vigil is Vigil's single binary: `vigil dev` runs everything in one process, `vigil
// server` and `vigil worker` run the production parts, and operator commands talk to a running
// Vigil over its HTTP API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/obs"
)

const usage = `vigil — AI operations orchestrator on Temporal

Usage:
  vigil dev     [--data-dir DIR] [--http ADDR] [--temporal ADDR] [--ui ADDR] [--config FILE]
                [--unauthenticated-temporal-on-network]
                everything in one process: embedded Temporal + Web UI, worker, HTTP API
  vigil server  [--config FILE]   HTTP API and webhooks against an external Temporal
  vigil worker  [--config FILE]   workflow and activity worker against an external Temporal
  vigil alert send --example NAME [--now=false] | --file FILE|- [--server URL]
                post an alert to a running Vigil and print its answer
  vigil alert map --source NAME [--config FILE] [--file FILE|-]
                dry-run a configured generic source's mapping on a body (stdin by default)
  vigil alert examples            list the built-in example alerts
  vigil incident get WORKFLOW_ID [--server URL] [--wait DURATION]
  vigil roles apply -f FILE|DIR [--comment TEXT] | list | show CODE [--version N] |
              versions CODE | restore CODE --version N | export      (all take --server URL)
  vigil usage [--group-by client|role|model|provider] [--since 24h] [--server URL]
  vigil status [--json] [--server URL]   each integration's state: last success, last failure, error
  vigil deploy notify --id ID --planned-at RFC3339|now --app ID:NAME [--app ...] [--version V] [--author A]
  vigil deploy event --id ID --type started|finished|rolled-back|cancelled [--at RFC3339]
  vigil deploy get|gate ID | list [--application NAME] [--state S] [--status S] [--limit N]
                announce a deployment, report its events, read its verdicts (all take --server URL)
  vigil oncall get ID | ack ID --by NAME   read an on-call page, acknowledge it (--server URL)
  vigil mcp [--config FILE] [--data-dir DIR]   serve the MCP tools (incidents, slow SQL, errors) on stdio
  vigil mask [--scope FILE] [--explain]   mask sensitive values of stdin (vault to FILE, 0600)
  vigil unmask --scope FILE               restore them
  vigil config check [--config FILE] [--production]   validate configuration and print it
                (--production: also the checks of vigil server/worker)
  vigil version

Operator commands use --server, else $VIGIL_SERVER, else http://127.0.0.1:8080.
Configuration: a YAML file (--config) with VIGIL_* environment overrides, e.g.
VIGIL_HTTP_ADDRESS for http.address.
`

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "dev":
		err = runProcess(app.ModeDev, args[1:], stderr)
	case "server":
		err = runProcess(app.ModeServer, args[1:], stderr)
	case "worker":
		err = runProcess(app.ModeWorker, args[1:], stderr)
	case "alert":
		err = alertCmd(args[1:], stdout)
	case "incident":
		err = incidentCmd(args[1:], stdout)
	case "config":
		err = configCmd(args[1:], stdout)
	case "mask":
		err = maskCmd(args[1:], os.Stdin, stdout)
	case "unmask":
		err = unmaskCmd(args[1:], os.Stdin, stdout)
	case "deploy":
		err = deployCmd(args[1:], stdout)
	case "oncall":
		err = oncallCmd(args[1:], stdout)
	case "mcp":
		err = mcpCmd(args[1:], stderr)
	case "roles":
		err = rolesCmd(args[1:], stdout)
	case "usage":
		err = usageCmd(args[1:], stdout)
	case "status":
		err = statusCmd(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "vigil", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "vigil: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "vigil %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "vigil %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func runProcess(mode app.Mode, args []string, stderr io.Writer) error {
	name := map[app.Mode]string{app.ModeDev: "dev", app.ModeServer: "server", app.ModeWorker: "worker"}[mode]
	fs := flag.NewFlagSet("vigil "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "YAML configuration file")
	var dataDir, httpAddr, temporalAddr, uiAddr *string
	var exposeTemporal *bool
	if mode == app.ModeDev {
		dataDir = fs.String("data-dir", "", "data directory (default ./.vigil, or data_dir from the config)")
		httpAddr = fs.String("http", "", "HTTP API listen address (default 127.0.0.1:8080)")
		temporalAddr = fs.String("temporal", "", "embedded Temporal frontend address (default 127.0.0.1:7233)")
		uiAddr = fs.String("ui", "", "Temporal Web UI address (default 127.0.0.1:8233; \"off\" disables it)")
		exposeTemporal = fs.Bool(app.UnauthenticatedTemporalFlag, false,
			"allow --temporal and --ui on a non-loopback address: the embedded Temporal and its Web UI have no authentication")
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := config.Load(*cfgFile, os.Environ())
	if err != nil {
		return err
	}
	var exposed []string
	if mode == app.ModeDev {
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&cfg.DataDir, *dataDir)
		set(&cfg.HTTP.Address, *httpAddr)
		set(&cfg.Temporal.Address, *temporalAddr)
		set(&cfg.Dev.UIAddress, *uiAddr)
		if cfg.Dev.UIAddress == "off" {
			cfg.Dev.UIAddress = ""
		}
		if exposed, err = app.CheckDevNetwork(cfg, *exposeTemporal); err != nil {
			return err
		}
	} else if err := cfg.ValidateProduction(); err != nil {
		return err
	}
	format := cfg.Log.Format
	if mode != app.ModeDev && os.Getenv("VIGIL_LOG_FORMAT") == "" && *cfgFile == "" {
		format = "json" // production logs are JSON unless asked otherwise
	}
	logger, err := obs.NewLogger(stderr, cfg.Log.Level, format)
	if err != nil {
		return err
	}
	if len(exposed) > 0 {
		logger.Warn("listening on the network without authentication (--"+app.UnauthenticatedTemporalFlag+"): anyone who reaches these addresses can read, signal and terminate workflows",
			"exposed", exposed)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.Start(ctx, mode, cfg, logger)
	if err != nil {
		return err
	}
	if mode == app.ModeDev {
		logger.Info("vigil dev is ready",
			"api", "http://"+a.HTTPAddr(), "temporal_ui", uiLink(a), "temporal", a.Temporal.FrontendHostPort(),
			"data_dir", cfg.DataDir, "try", "go run ./cmd/vigil alert send --example slow-sql")
	}
	werr := a.Wait(ctx)
	stop()
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a.Close(shutdownCtx)
	logger.Info("stopped")
	return werr
}

func uiLink(a *app.App) string {
	if a.Temporal == nil || a.Temporal.UIAddress() == "" {
		return "disabled"
	}
	return "http://" + a.Temporal.UIAddress()
}

func configCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{errors.New("usage: vigil config check [--config FILE]")}
	}
	fs := flag.NewFlagSet("vigil config check", flag.ContinueOnError)
	cfgFile := fs.String("config", "", "YAML configuration file")
	prod := fs.Bool("production", false, "also apply the checks of vigil server/worker")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	cfg, err := config.Load(*cfgFile, os.Environ())
	if err != nil {
		return err
	}
	// Every secret reference is resolved here, as start-up resolves them: an unset *_env or a
	// missing *_file fails the check with its file and line, not the start.
	if err := cfg.CheckSecrets(); err != nil {
		return err
	}
	if *prod {
		if err := cfg.ValidateProduction(); err != nil {
			return err
		}
	}
	fmt.Fprint(stdout, cfg.Redacted())
	return nil
}
