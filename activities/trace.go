package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tracesource"
)

// ErrTypeTraceNotFound marks a trace no configured source has.
const ErrTypeTraceNotFound = "TraceNotFound"

// FetchProfile fetches the transaction profile behind an alert that carries only a trace ID,
// from the configured trace sources in order (OTLP-JSON APIs, then Elastic APM). It returns nil
// when no source is configured.
func (a *Incident) FetchProfile(ctx context.Context, traceID string) (*profile.Profile, error) {
	if len(a.Traces) == 0 || traceID == "" {
		return nil, nil
	}
	p, err := a.Traces.Fetch(ctx, traceID)
	if errors.Is(err, tracesource.ErrNotFound) {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("trace %s: not found in %s", traceID, a.Traces.Name()), ErrTypeTraceNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch trace %s: %w", traceID, err)
	}
	return p, nil
}
