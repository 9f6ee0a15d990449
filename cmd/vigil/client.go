package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/starter"
)

func serverURL(flagValue string) string {
	if flagValue != "" {
		return strings.TrimRight(flagValue, "/")
	}
	if v := os.Getenv("VIGIL_SERVER"); v != "" {
		return strings.TrimRight(v, "/")
	}
	return "http://127.0.0.1:8080"
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// call sends a request and prints the (pretty) JSON answer; non-2xx answers become errors that
// carry the server's problem detail.
func call(method, url string, body []byte, stdout io.Writer) ([]byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key := os.Getenv("VIGIL_API_KEY"); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return do(req, stdout)
}

func do(req *http.Request, stdout io.Writer) ([]byte, error) {
	method, url := req.Method, req.URL.String()
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (is vigil running? start it with: go run ./cmd/vigil dev)", method, url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	if resp.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: HTTP %d\n%s", method, url, resp.StatusCode, out)
	}
	if stdout != nil {
		fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(out))
	}
	return out, nil
}

func alertCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("usage: vigil alert send --example NAME | --file FILE [--server URL]; vigil alert map --source NAME [--config FILE] < body.json; vigil alert examples")}
	}
	switch args[0] {
	case "examples":
		for _, n := range profile.ExampleNames() {
			fmt.Fprintln(stdout, n)
		}
		return nil
	case "map":
		return alertMapCmd(args[1:], os.Stdin, stdout)
	case "send":
	default:
		return usageError{fmt.Errorf("unknown subcommand %q (want send, map or examples)", args[0])}
	}
	fs := flag.NewFlagSet("vigil alert send", flag.ContinueOnError)
	example := fs.String("example", "", "built-in example alert: "+strings.Join(profile.ExampleNames(), ", "))
	file := fs.String("file", "", "alert JSON file ('-' for stdin)")
	server := fs.String("server", "", "Vigil base URL")
	now := fs.Bool("now", true, "with --example: set startsAt to now, so each send is a new alert")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	var body []byte
	switch {
	case *example != "" && *file != "":
		return usageError{errors.New("give --example or --file, not both")}
	case *example != "":
		b, ok := profile.Example(*example)
		if !ok {
			return usageError{fmt.Errorf("unknown example %q; known: %s", *example, strings.Join(profile.ExampleNames(), ", "))}
		}
		body = b
		if *now {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			shiftTimes(m, time.Now().UTC())
			body, _ = json.Marshal(m)
		}
	case *file == "-":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		body = b
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		body = b
	default:
		return usageError{errors.New("give --example NAME or --file FILE")}
	}
	_, err := callWebhook(serverURL(*server)+"/v1/alerts/apm", body, stdout)
	return err
}

func incidentCmd(args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "get" {
		return usageError{errors.New("usage: vigil incident get WORKFLOW_ID [--server URL] [--wait DURATION]")}
	}
	fs := flag.NewFlagSet("vigil incident get", flag.ContinueOnError)
	server := fs.String("server", "", "Vigil base URL")
	wait := fs.Duration("wait", 0, "poll until the incident is no longer running, up to this long")
	var id string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		if id != "" {
			return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
		}
		id, rest = fs.Arg(0), fs.Args()[1:]
	}
	if id == "" {
		return usageError{errors.New("usage: vigil incident get WORKFLOW_ID [--server URL] [--wait DURATION]")}
	}
	url := serverURL(*server) + "/v1/incidents/" + id
	deadline := time.Now().Add(*wait)
	for {
		out, err := call(http.MethodGet, url, nil, nil)
		if err != nil {
			return err
		}
		var v struct {
			Status string `json:"status"`
			Report string `json:"report"`
		}
		_ = json.Unmarshal(out, &v)
		if v.Status == "completed" || v.Status == "failed" || time.Now().After(deadline) {
			fmt.Fprintf(stdout, "%s\n", out)
			if v.Report != "" {
				fmt.Fprintf(stdout, "\n%s\n", v.Report)
			}
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// shiftTimes moves an example alert in time so that it starts at now, keeping its window: each
// send is then a new alert (the alert's identity includes its start time).
func shiftTimes(m map[string]any, now time.Time) {
	s, _ := m["startsAt"].(string)
	start, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return
	}
	delta := now.Truncate(time.Second).Sub(start)
	shift := func(obj map[string]any, key string) {
		if v, ok := obj[key].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				obj[key] = t.Add(delta).Format(time.RFC3339Nano)
			}
		}
	}
	shift(m, "startsAt")
	shift(m, "endsAt")
	if p, ok := m["profile"].(map[string]any); ok {
		if tx, ok := p["transaction"].(map[string]any); ok {
			shift(tx, "startTime")
		}
	}
}

// callWebhook posts to a webhook, signed with $VIGIL_HMAC_SECRET when set, else with the bearer
// token $VIGIL_WEBHOOK_TOKEN, else with $VIGIL_API_KEY (as call does).
func callWebhook(url string, body []byte, stdout io.Writer) ([]byte, error) {
	secret, token := os.Getenv("VIGIL_HMAC_SECRET"), os.Getenv("VIGIL_WEBHOOK_TOKEN")
	if secret == "" && token == "" {
		return call(http.MethodPost, url, body, stdout)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		ts, sig := starter.SignWebhook([]byte(secret), time.Now(), body)
		req.Header.Set(starter.HeaderTimestamp, ts)
		req.Header.Set(starter.HeaderSignature, sig)
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(req, stdout)
}
