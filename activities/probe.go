package activities

import (
	"context"
	"os"
)

// Probe echoes its message with the worker's host name (the ProbeWorkflow's activity).
func Probe(_ context.Context, msg string) (string, error) {
	host, _ := os.Hostname()
	return host + ": " + msg, nil
}
