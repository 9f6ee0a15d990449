package tracesource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/profile"
)

// Source fetches a trace by ID.
type Source interface {
	// Name identifies the source in logs and errors.
	Name() string
	// Fetch returns the trace as a normalized profile. It returns an error wrapping ErrNotFound
	// when the backend has no such trace.
	Fetch(ctx context.Context, traceID string) (*profile.Profile, error)
}

// ErrNotFound is returned (wrapped) when a source has no trace with the requested ID.
var ErrNotFound = errors.New("trace not found")

// Chain tries sources in order; the first that has the trace wins.
type Chain []Source

// Name returns the names of the sources, comma-separated.
func (c Chain) Name() string {
	names := make([]string, len(c))
	for i, s := range c {
		names[i] = s.Name()
	}
	return strings.Join(names, ",")
}

// Fetch asks each source in turn and returns the first profile found. When every source reports
// ErrNotFound, the error wraps ErrNotFound; when some source failed otherwise, the error joins
// those failures and does not wrap ErrNotFound (the trace may be on the failing backend).
func (c Chain) Fetch(ctx context.Context, traceID string) (*profile.Profile, error) {
	if len(c) == 0 {
		return nil, errors.New("tracesource: no trace sources configured")
	}
	var failures []error
	for _, s := range c {
		p, err := s.Fetch(ctx, traceID)
		if err == nil {
			return p, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("trace %s: %s: %w", traceID, s.Name(), ctxErr)
		}
		if !errors.Is(err, ErrNotFound) {
			failures = append(failures, fmt.Errorf("%s: %w", s.Name(), err))
		}
	}
	if len(failures) > 0 {
		return nil, fmt.Errorf("trace %s: %w", traceID, errors.Join(failures...))
	}
	return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, traceID, c.Name())
}

// FromConfig builds the sources of c: the OTLP sources in order, then Elastic APM when it has
// URLs. secret resolves a *_env / *_file reference (typically (*config.Config).Secret); nil means
// config.ResolveSecret.
func FromConfig(c config.Traces, secret func(env, file string) (string, error)) (Chain, error) {
	if secret == nil {
		secret = config.ResolveSecret
	}
	var chain Chain
	for i, o := range c.OTLP {
		var token string
		if o.TokenEnv != "" || o.TokenFile != "" {
			t, err := secret(o.TokenEnv, o.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("traces.otlp[%d].token: %w", i, err)
			}
			token = t
		}
		s, err := NewOTLP(OTLPConfig{Name: o.Name, URL: o.URL, Token: token})
		if err != nil {
			return nil, fmt.Errorf("traces.otlp[%d]: %w", i, err)
		}
		chain = append(chain, s)
	}
	if a := c.ElasticAPM; len(a.URLs) > 0 {
		var key string
		if a.APIKeyEnv != "" || a.APIKeyFile != "" {
			k, err := secret(a.APIKeyEnv, a.APIKeyFile)
			if err != nil {
				return nil, fmt.Errorf("traces.elastic_apm.api_key: %w", err)
			}
			key = k
		}
		s, err := NewElasticAPM(ElasticAPMConfig{URLs: a.URLs, APIKey: key, Index: a.Index})
		if err != nil {
			return nil, fmt.Errorf("traces.elastic_apm: %w", err)
		}
		chain = append(chain, s)
	}
	return chain, nil
}
