package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/alertmap"
	"github.com/vigil-ops/vigil/config"
)

// alertMapCmd is `vigil alert map --source NAME < body.json`: a dry run of a generic source's
// mapping (alerts.sources.generic) on a body. It prints the alert the body becomes, or every
// field at fault, and sends nothing.
func alertMapCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("vigil alert map", flag.ContinueOnError)
	source := fs.String("source", "", "name of a source in alerts.sources.generic")
	cfgFile := fs.String("config", "", "YAML configuration file")
	file := fs.String("file", "-", "body JSON file ('-' for stdin)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *source == "" {
		return usageError{errors.New("usage: vigil alert map --source NAME [--config FILE] [--file FILE] < body.json")}
	}
	cfg, err := config.Load(*cfgFile, os.Environ())
	if err != nil {
		return err
	}
	g, ok := cfg.GenericSource(*source)
	if !ok {
		var names []string
		for _, s := range cfg.Alerts.Sources.Generic {
			names = append(names, s.Name)
		}
		return fmt.Errorf("no source %q in alerts.sources.generic (configured: %s)", *source, strings.Join(names, ", "))
	}
	m, err := alertmap.Compile(g.Spec())
	if err != nil {
		return fmt.Errorf("alerts.sources.generic %s: %w", *source, err)
	}
	var body []byte
	if *file == "-" {
		body, err = io.ReadAll(stdin)
	} else {
		body, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	res, err := m.Map(body, time.Now())
	if err != nil {
		var fes alertmap.FieldErrors
		if errors.As(err, &fes) {
			var b strings.Builder
			fmt.Fprintf(&b, "the body does not map onto an alert (%d field(s) at fault):", len(fes))
			for _, fe := range fes {
				fmt.Fprintf(&b, "\n  alerts.sources.generic %s %s: %s", *source, fe.Field, fe.Message)
			}
			return errors.New(b.String())
		}
		return err
	}
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return nil
}
