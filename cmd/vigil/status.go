package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/vigil-ops/vigil/starter"
)

// statusCmd prints the status of every configured integration (GET /v1/status).
func statusCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("vigil status", flag.ContinueOnError)
	server := fs.String("server", "", "Vigil base URL")
	asJSON := fs.Bool("json", false, "print the JSON answer")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	var w io.Writer
	if *asJSON {
		w = stdout
	}
	out, err := call(http.MethodGet, serverURL(*server)+"/v1/status", nil, w)
	if err != nil || *asJSON {
		return err
	}
	var v starter.StatusView
	if err := json.Unmarshal(out, &v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "status: %s\n", v.Status)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPENDENCY\tSTATE\tLAST SUCCESS\tLAST FAILURE\tCHECK\tERROR")
	ago := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return time.Since(*t).Round(time.Second).String() + " ago"
	}
	for _, d := range v.Dependencies {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.State, ago(d.LastSuccess), ago(d.LastFailure), d.ConfigKey, d.LastError)
	}
	return tw.Flush()
}
