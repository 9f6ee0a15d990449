package tracesource

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
)

const fixtureTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"

func readFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/tempo-trace.json")
	require.NoError(t, err)
	return b
}

// traceServer serves body for fixtureTraceID at /api/traces/{id}, and 404 for other IDs.
func traceServer(t *testing.T, body []byte, gotAuth *string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gotAuth != nil {
			*gotAuth = r.Header.Get("Authorization")
		}
		if r.Method != http.MethodGet || r.URL.Path != "/api/traces/"+fixtureTraceID {
			http.Error(w, "trace not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// requireCheckoutProfile asserts the conversion of testdata/tempo-trace.json.
func requireCheckoutProfile(t *testing.T, p *profile.Profile) {
	t.Helper()
	require.Equal(t, fixtureTraceID, p.TraceID)
	require.Equal(t, profile.Transaction{
		Name:        "POST /checkout",
		URL:         "/checkout",
		Method:      "POST",
		Instance:    "checkout-7d9f6b-x2k4p",
		StartTime:   time.Unix(1717243200, 0).UTC(),
		TotalTimeMs: 1250,
		Status:      502,
	}, p.Transaction)

	require.Len(t, p.Spans, 3)
	// Ordered by start time, whatever their order in the document.
	conn, sql, call := p.Spans[0], p.Spans[1], p.Spans[2]

	require.Equal(t, profile.KindDBConnect, conn.Kind)
	require.Equal(t, "HikariDataSource.getConnection", conn.Name)
	require.Equal(t, 10.0, conn.StartOffsetMs)
	require.Equal(t, 45.0, conn.DurationMs)
	require.Equal(t, "jdbc:postgresql://orders-db.internal:5432/shop", conn.URL)
	require.Equal(t, "orders-db.internal:5432", conn.RemoteAddress, "derived from the JDBC URL by Normalize")

	require.Equal(t, profile.KindSQL, sql.Kind)
	require.Equal(t, 60.0, sql.StartOffsetMs)
	require.Equal(t, 820.0, sql.DurationMs)
	require.True(t, strings.HasPrefix(sql.SQL, "SELECT o.id, o.total"))
	require.Equal(t, []string{"orders"}, sql.Tables)
	require.Equal(t, profile.CRUDSelect, sql.CRUD)
	require.Equal(t, 4200, sql.Rows)
	require.Equal(t, 1, sql.Count)
	require.Empty(t, sql.Error)

	require.Equal(t, profile.KindHTTPClient, call.Kind)
	require.Equal(t, "https://pay.partner.example.com/v1/charges", call.URL)
	require.Equal(t, "pay.partner.example.com:443", call.RemoteAddress)
	require.Equal(t, 503, call.StatusCode)
	require.Equal(t, 900.0, call.StartOffsetMs)
	require.Equal(t, 330.0, call.DurationMs)
	require.Equal(t, "Service Unavailable", call.Error)

	require.Equal(t, 1, p.SQLCount)
	require.Equal(t, 4200, p.FetchCount)
	require.Len(t, p.Exceptions, 1)
	ex := p.Exceptions[0]
	require.Equal(t, "com.shop.payment.PaymentGatewayException", ex.Type)
	require.Equal(t, "payment partner returned 503", ex.Message)
	require.Contains(t, ex.StackTrace, "at com.shop.payment.PayClient.charge(PayClient.java:88)")
}

func TestFromOTLPFixture(t *testing.T) {
	p, err := FromOTLP(readFixture(t))
	require.NoError(t, err)
	requireCheckoutProfile(t, p)
}

func TestOTLPFetchTempo(t *testing.T) {
	var auth string
	srv := traceServer(t, readFixture(t), &auth)
	src, err := NewOTLP(OTLPConfig{Name: "tempo", URL: srv.URL + "/api/traces/{traceId}", Token: "s3cret"})
	require.NoError(t, err)
	require.Equal(t, "tempo", src.Name())

	p, err := src.Fetch(context.Background(), fixtureTraceID)
	require.NoError(t, err)
	requireCheckoutProfile(t, p)
	require.Equal(t, "Bearer s3cret", auth)

	_, err = src.Fetch(context.Background(), "0123456789abcdef0123456789abcdef")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "tempo")
}

func TestOTLPFetchJaegerV2(t *testing.T) {
	body := append(append([]byte(`{"result":`), readFixture(t)...), '}')
	var auth string
	srv := traceServer(t, body, &auth)
	src, err := NewOTLP(OTLPConfig{URL: srv.URL + "/api/traces/{traceId}"})
	require.NoError(t, err)
	require.Equal(t, "otlp", src.Name())
	p, err := src.Fetch(context.Background(), fixtureTraceID)
	require.NoError(t, err)
	requireCheckoutProfile(t, p)
	require.Empty(t, auth, "no token configured")
}

func TestOTLPFetchErrors(t *testing.T) {
	ctx := context.Background()
	fetch := func(status int, body string) error {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		defer srv.Close()
		src, err := NewOTLP(OTLPConfig{Name: "tempo", URL: srv.URL + "/api/traces/{traceId}"})
		require.NoError(t, err)
		_, err = src.Fetch(ctx, fixtureTraceID)
		return err
	}

	err := fetch(http.StatusNotFound, "trace not found")
	require.ErrorIs(t, err, ErrNotFound)

	err = fetch(http.StatusOK, `{"resourceSpans": [`)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "decoding OTLP JSON trace")

	err = fetch(http.StatusInternalServerError, "boom")
	require.ErrorContains(t, err, "500 Internal Server Error: boom")
	require.NotErrorIs(t, err, ErrNotFound)

	// An empty trace (Tempo: {}; Jaeger: an empty result) means the trace is not there.
	require.ErrorIs(t, fetch(http.StatusOK, `{}`), ErrNotFound)
	require.ErrorIs(t, fetch(http.StatusOK, `{"result":{"resourceSpans":[]}}`), ErrNotFound)
	require.ErrorIs(t, fetch(http.StatusNotFound, `{"error":{"httpCode":404,"message":"trace not found"}}`), ErrNotFound)
}

func TestNewOTLPValidates(t *testing.T) {
	for _, u := range []string{"", "tempo:3200/api/traces/{traceId}", "ftp://tempo/{traceId}", "http://tempo:3200/api/traces/"} {
		_, err := NewOTLP(OTLPConfig{URL: u})
		require.Error(t, err, u)
	}
}

func TestFromOTLPOldConventions(t *testing.T) {
	// Numeric enums, old attribute names, Tempo's base64 IDs, a root chosen among parentless
	// spans by SERVER kind.
	doc := `{"batches":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"web-1"}}]},
	"instrumentationLibrarySpans":[{"spans":[
	 {"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"AAAAAAAAAAE=","parentSpanId":"AAAAAAAAAAA=","name":"scheduled tick","kind":1,
	  "startTimeUnixNano":1000000000,"endTimeUnixNano":1001000000},
	 {"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"AAAAAAAAAAI=","name":"GET /items","kind":2,
	  "startTimeUnixNano":"2000000000","endTimeUnixNano":"2100000000",
	  "attributes":[{"key":"http.method","value":{"stringValue":"get"}},{"key":"http.target","value":{"stringValue":"/items?page=2"}},
	   {"key":"http.status_code","value":{"intValue":200}}]},
	 {"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"AAAAAAAAAAM=","parentSpanId":"AAAAAAAAAAI=","name":"UPDATE items","kind":3,
	  "startTimeUnixNano":"2010000000","endTimeUnixNano":"2020000000",
	  "attributes":[{"key":"db.system","value":{"stringValue":"mysql"}},{"key":"db.statement","value":{"stringValue":"UPDATE items SET seen = 1 WHERE id = ?"}}]},
	 {"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"AAAAAAAAAAQ=","parentSpanId":"AAAAAAAAAAI=","name":"HTTP GET","kind":3,
	  "startTimeUnixNano":"2030000000","endTimeUnixNano":"2090000000",
	  "attributes":[{"key":"http.url","value":{"stringValue":"http://stock:8080/levels"}},{"key":"net.peer.name","value":{"stringValue":"stock"}},
	   {"key":"net.peer.port","value":{"intValue":"8080"}},{"key":"http.status_code","value":{"intValue":"200"}}],
	  "status":{"code":2},
	  "events":[{"name":"exception","attributes":[{"key":"exception.message","value":{"stringValue":"read timed out"}}]}]}
	]}]}]}`
	p, err := FromOTLP([]byte(doc))
	require.NoError(t, err)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", p.TraceID)
	require.Equal(t, "GET /items", p.Transaction.Name)
	require.Equal(t, "GET", p.Transaction.Method)
	require.Equal(t, "/items?page=2", p.Transaction.URL)
	require.Equal(t, 200, p.Transaction.Status)
	require.Equal(t, 100.0, p.Transaction.TotalTimeMs)
	require.Equal(t, "web-1", p.Transaction.Instance)
	require.Len(t, p.Spans, 3)
	require.Equal(t, "internal", p.Spans[0].Kind) // the other parentless span, before the root
	require.Equal(t, 0.0, p.Spans[0].StartOffsetMs)
	require.Equal(t, profile.KindSQL, p.Spans[1].Kind)
	require.Equal(t, profile.CRUDUpdate, p.Spans[1].CRUD)
	require.Equal(t, []string{"items"}, p.Spans[1].Tables)
	require.Equal(t, 10.0, p.Spans[1].StartOffsetMs)
	require.Equal(t, profile.KindHTTPClient, p.Spans[2].Kind)
	require.Equal(t, "stock:8080", p.Spans[2].RemoteAddress)
	require.Equal(t, "read timed out", p.Spans[2].Error)
	require.Equal(t, []profile.Exception{{Type: "(unknown)", Message: "read timed out"}}, p.Exceptions)
}

func TestFromOTLPErrors(t *testing.T) {
	_, err := FromOTLP([]byte(`not json`))
	require.ErrorContains(t, err, "decoding OTLP JSON trace")

	_, err = FromOTLP([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]}`))
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "no spans")

	_, err = FromOTLP([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"b","parentSpanId":"a","name":"child"}]}]}]}`))
	require.ErrorContains(t, err, "no root span")
	require.False(t, errors.Is(err, ErrNotFound))

	_, err = FromOTLP([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"a","startTimeUnixNano":"soon"}]}]}]}`))
	require.ErrorContains(t, err, "decoding OTLP JSON trace")
}
