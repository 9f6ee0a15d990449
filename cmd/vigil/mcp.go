package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/mcpserver"
	"github.com/vigil-ops/vigil/store"
)

// mcpCmd serves Vigil's MCP tools on stdin/stdout for a local AI client (Claude Desktop, an
// IDE): it reads the store directly — the configured database, else `vigil dev`'s SQLite file.
func mcpCmd(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("vigil mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "YAML configuration file")
	dataDir := fs.String("data-dir", "", "vigil dev's data directory (default .vigil)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{errors.New("vigil mcp takes no arguments; it speaks MCP on stdin and stdout")}
	}
	cfg, err := config.Load(*cfgFile, os.Environ())
	if err != nil {
		return err
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	dsn, err := cfg.DatabaseURL(true)
	if err != nil {
		return err
	}
	if file, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("no Vigil data at %s (start vigil dev there first, or pass --data-dir or --config with database.url)", file)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	return mcpserver.New(st, version).Run(ctx, &mcp.StdioTransport{})
}
