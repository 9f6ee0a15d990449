package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
)

const oncallUsage = `usage:
  vigil oncall get ID              the page: decision, calls, acknowledgement
  vigil oncall ack ID --by NAME    acknowledge the page
(all take --server URL)`

func oncallCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(oncallUsage)}
	}
	fs := flag.NewFlagSet("vigil oncall "+args[0], flag.ContinueOnError)
	server := fs.String("server", "", "Vigil base URL")
	by := fs.String("by", "", "who acknowledges")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return usageError{err}
	}
	if len(pos) != 1 {
		return usageError{errors.New(oncallUsage)}
	}
	path := serverURL(*server) + "/v1/oncall/" + url.PathEscape(pos[0])
	switch args[0] {
	case "get":
		_, err := call(http.MethodGet, path, nil, stdout)
		return err
	case "ack":
		if *by == "" {
			return usageError{errors.New("ack needs --by NAME\n" + oncallUsage)}
		}
		body, _ := json.Marshal(map[string]string{"by": *by})
		_, err := call(http.MethodPost, path+"/ack", body, stdout)
		return err
	default:
		return usageError{errors.New("unknown subcommand " + args[0] + "\n" + oncallUsage)}
	}
}
