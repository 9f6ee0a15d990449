package tracesource

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/profile"
)

type fakeSource struct {
	name  string
	err   error
	calls int
}

func (f *fakeSource) Name() string { return f.name }
func (f *fakeSource) Fetch(context.Context, string) (*profile.Profile, error) {
	f.calls++
	return nil, f.err
}

func TestChainFirstMissesSecondHas(t *testing.T) {
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	has := traceServer(t, readFixture(t), nil)

	first, err := NewOTLP(OTLPConfig{Name: "jaeger", URL: missing.URL + "/api/v3/traces/{traceId}"})
	require.NoError(t, err)
	second, err := NewOTLP(OTLPConfig{Name: "tempo", URL: has.URL + "/api/traces/{traceId}"})
	require.NoError(t, err)
	third := &fakeSource{name: "never", err: errors.New("must not be asked")}

	chain := Chain{first, second, third}
	require.Equal(t, "jaeger,tempo,never", chain.Name())
	p, err := chain.Fetch(context.Background(), fixtureTraceID)
	require.NoError(t, err)
	requireCheckoutProfile(t, p)
	require.Zero(t, third.calls)

	// Nobody has it: ErrNotFound.
	_, err = chain[:1].Fetch(context.Background(), fixtureTraceID)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestChainFailures(t *testing.T) {
	ctx := context.Background()
	down := &fakeSource{name: "down", err: errors.New("connection refused")}
	none := &fakeSource{name: "none", err: ErrNotFound}
	_, err := Chain{none, down}.Fetch(ctx, "abc")
	require.ErrorContains(t, err, "down: connection refused")
	require.NotErrorIs(t, err, ErrNotFound, "the trace may be on the failing source")

	_, err = Chain{none, none}.Fetch(ctx, "abc")
	require.ErrorIs(t, err, ErrNotFound)

	_, err = Chain{}.Fetch(ctx, "abc")
	require.ErrorContains(t, err, "no trace sources configured")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	next := &fakeSource{name: "next", err: ErrNotFound}
	_, err = Chain{down, next}.Fetch(cancelled, "abc")
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, next.calls)
}

func TestFromConfig(t *testing.T) {
	es := esServer(t, apmHits, nil)
	tempo := traceServer(t, readFixture(t), nil)
	jaeger := httptest.NewServer(http.NotFoundHandler())
	defer jaeger.Close()
	c := config.Traces{
		OTLP: []config.OTLPSource{
			{Name: "tempo", URL: tempo.URL + "/api/traces/{traceId}", TokenEnv: "TEMPO_TOKEN"},
			{Name: "jaeger", URL: jaeger.URL + "/api/v3/traces/{traceId}"},
		},
		ElasticAPM: config.ElasticAPMSource{URLs: []string{es.URL}, APIKeyFile: "/run/secrets/apm", Index: config.DefaultAPMIndex},
	}
	var asked [][2]string
	secret := func(env, file string) (string, error) {
		asked = append(asked, [2]string{env, file})
		return "s3cret", nil
	}
	chain, err := FromConfig(c, secret)
	require.NoError(t, err)
	require.Equal(t, "tempo,jaeger,elastic-apm", chain.Name())
	require.Equal(t, [][2]string{{"TEMPO_TOKEN", ""}, {"", "/run/secrets/apm"}}, asked)
	require.Equal(t, "s3cret", chain[0].(*OTLP).token)

	// OTLP sources first, then Elastic APM.
	p, err := chain.Fetch(context.Background(), apmTraceID) // tempo: 404, jaeger: 404, APM: found
	require.NoError(t, err)
	require.Equal(t, "https://shop.example.com/checkout", p.Transaction.URL)
	p, err = chain.Fetch(context.Background(), fixtureTraceID) // tempo has it
	require.NoError(t, err)
	requireCheckoutProfile(t, p)

	// Elastic APM off without URLs; secret errors name the key.
	chain, err = FromConfig(config.Traces{}, nil)
	require.NoError(t, err)
	require.Empty(t, chain)
	_, err = FromConfig(config.Traces{OTLP: []config.OTLPSource{{Name: "t", URL: "http://t/{traceId}", TokenEnv: "VIGIL_TEST_UNSET_TOKEN_XYZ"}}}, nil)
	require.ErrorContains(t, err, "traces.otlp[0].token: environment variable VIGIL_TEST_UNSET_TOKEN_XYZ is not set")
	_, err = FromConfig(config.Traces{OTLP: []config.OTLPSource{{Name: "t", URL: "http://t/"}}}, nil)
	require.ErrorContains(t, err, "traces.otlp[0]: OTLP trace URL must contain {traceId}")
}
