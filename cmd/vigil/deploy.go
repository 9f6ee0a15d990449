package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const deployUsage = `usage:
  vigil deploy notify --id ID --planned-at RFC3339|now --app ID:NAME [--app ...] [--version V] [--author A]
  vigil deploy event  --id ID --type started|finished|rolled-back|cancelled [--at RFC3339]
  vigil deploy get ID        the deployment's checkpoints and verdicts
  vigil deploy gate ID       proceed, hold (with reasons) or pending
  vigil deploy list [--application NAME] [--state STABLE|MOSTLY_STABLE|UNSTABLE] [--status S] [--limit N]
                             the stored deployments, newest planned first
(all take --server URL)`

func deployCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(deployUsage)}
	}
	fs := flag.NewFlagSet("vigil deploy "+args[0], flag.ContinueOnError)
	server := fs.String("server", "", "Vigil base URL")
	id := fs.String("id", "", "deployment ID")
	planned := fs.String("planned-at", "", "planned time, RFC 3339 or now")
	version := fs.String("version", "", "version being deployed")
	author := fs.String("author", "", "who deploys")
	typ := fs.String("type", "", "event type")
	at := fs.String("at", "", "event time, RFC 3339 (default now)")
	application := fs.String("application", "", "list: only deployments of this application")
	state := fs.String("state", "", "list: only deployments whose latest verdict has this state")
	status := fs.String("status", "", "list: only deployments with this status")
	limit := fs.Int("limit", 0, "list: page size")
	var apps stringList
	fs.Var(&apps, "app", "application as ID:NAME (repeatable)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return usageError{err}
	}
	base := serverURL(*server)
	switch args[0] {
	case "notify":
		if *id == "" || *planned == "" || len(apps) == 0 {
			return usageError{errors.New("notify needs --id, --planned-at and at least one --app ID:NAME\n" + deployUsage)}
		}
		when := time.Now().UTC()
		if *planned != "now" {
			if when, err = time.Parse(time.RFC3339, *planned); err != nil {
				return usageError{fmt.Errorf("--planned-at: want RFC 3339 (2026-11-26T14:00:00Z) or now: %v", err)}
			}
		}
		type app struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		var list []app
		for _, a := range apps {
			i, n, ok := strings.Cut(a, ":")
			if !ok || i == "" || n == "" {
				return usageError{fmt.Errorf("--app %q: want ID:NAME", a)}
			}
			list = append(list, app{i, n})
		}
		body, _ := json.Marshal(map[string]any{"id": *id, "plannedAt": when, "version": *version, "author": *author, "applications": list})
		_, err := call(http.MethodPost, base+"/v1/deployments", body, stdout)
		return err
	case "event":
		if *id == "" || *typ == "" {
			return usageError{errors.New("event needs --id and --type\n" + deployUsage)}
		}
		ev := map[string]any{"type": *typ}
		if *at != "" {
			t, err := time.Parse(time.RFC3339, *at)
			if err != nil {
				return usageError{fmt.Errorf("--at: want RFC 3339: %v", err)}
			}
			ev["at"] = t
		}
		body, _ := json.Marshal(ev)
		_, err := call(http.MethodPost, base+"/v1/deployments/"+url.PathEscape(*id)+"/events", body, stdout)
		return err
	case "get", "gate":
		if len(pos) != 1 {
			return usageError{errors.New(deployUsage)}
		}
		path := "/v1/deployments/" + url.PathEscape(pos[0])
		if args[0] == "gate" {
			path += "/gate"
		}
		_, err := call(http.MethodGet, base+path, nil, stdout)
		return err
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"application": *application, "state": *state, "status": *status} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *limit != 0 {
			q.Set("limit", fmt.Sprint(*limit))
		}
		path := "/v1/deployments"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		_, err := call(http.MethodGet, base+path, nil, stdout)
		return err
	default:
		return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], deployUsage)}
	}
}
