package tracesource

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
)

const apmTraceID = "0af7651916cd43dd8448eb211c80319c"

// apmHits are the _source documents of one Elastic APM trace, deliberately unordered.
var apmHits = []string{
	`{"@timestamp":"2024-06-01T12:00:00.900Z","processor":{"event":"span"},"trace":{"id":"` + apmTraceID + `"},
	  "parent":{"id":"tx1"},"transaction":{"id":"tx1"},"timestamp":{"us":1717243200900000},
	  "span":{"id":"sp-http","name":"POST pay.partner.example.com","type":"external","subtype":"http","action":"POST",
	          "duration":{"us":330000}},
	  "url":{"original":"https://pay.partner.example.com/v1/charges"},
	  "http":{"request":{"method":"POST"},"response":{"status_code":503}},
	  "destination":{"address":"pay.partner.example.com","port":443},"event":{"outcome":"failure"}}`,
	`{"@timestamp":"2024-06-01T12:00:00.000Z","processor":{"event":"transaction"},"trace":{"id":"` + apmTraceID + `"},
	  "timestamp":{"us":1717243200000000},
	  "transaction":{"id":"tx1","name":"POST /checkout","type":"request","duration":{"us":1250000}},
	  "url":{"full":"https://shop.example.com/checkout"},
	  "http":{"request":{"method":"POST"},"response":{"status_code":502}},
	  "service":{"name":"checkout","node":{"name":"checkout-7d9f6b-x2k4p"}},"host":{"name":"node-3"}}`,
	`{"@timestamp":"2024-06-01T12:00:00.060Z","processor":{"event":"span"},"trace":{"id":"` + apmTraceID + `"},
	  "parent":{"id":"tx1"},"timestamp":{"us":1717243200060000},
	  "span":{"id":"sp-sql","name":"SELECT FROM orders","type":"db","subtype":"postgresql","action":"query",
	          "duration":{"us":820000},
	          "db":{"type":"sql","statement":"SELECT o.id, o.total FROM orders o WHERE o.customer_id = $1"}},
	  "destination":{"address":"orders-db.internal","port":5432}}`,
	`{"@timestamp":"2024-06-01T12:00:00.010Z","processor":{"event":"span"},"trace":{"id":"` + apmTraceID + `"},
	  "parent":{"id":"tx1"},"timestamp":{"us":1717243200010000},
	  "span":{"id":"sp-conn","name":"DataSource#getConnection","type":"db","subtype":"postgresql","action":"connect",
	          "duration":{"us":45000}},
	  "destination":{"address":"orders-db.internal","port":5432}}`,
	`{"@timestamp":"2024-06-01T12:00:01.240Z","processor":{"event":"error"},"trace":{"id":"` + apmTraceID + `"},
	  "parent":{"id":"tx1"},"timestamp":{"us":1717243201240000},
	  "error":{"exception":[{"type":"com.shop.payment.PaymentGatewayException","message":"payment partner returned 503",
	    "stacktrace":[
	      {"classname":"com.shop.payment.PayClient","function":"charge","filename":"PayClient.java","line":{"number":88}},
	      {"classname":"com.shop.checkout.CheckoutController","function":"checkout","filename":"CheckoutController.java","line":{"number":42}}]}]}}`,
}

// esServer emulates Elasticsearch's _search for apmTraceID; other trace IDs get no hits.
func esServer(t *testing.T, hits []string, gotAuth *string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if gotAuth != nil {
			*gotAuth = r.Header.Get("Authorization")
		}
		if !strings.HasSuffix(r.URL.Path, "/_search") {
			http.Error(w, `{"error":"unexpected request"}`, http.StatusBadRequest)
			return
		}
		if r.URL.Path != "/traces-apm*/_search" {
			t.Errorf("searched %s, want /traces-apm*/_search", r.URL.Path)
		}
		var q struct {
			Size  int `json:"size"`
			Query struct {
				Bool struct {
					Filter []struct {
						Term map[string]string `json:"term"`
					} `json:"filter"`
				} `json:"bool"`
			} `json:"query"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &q); err != nil || q.Size != 1000 || len(q.Query.Bool.Filter) != 1 {
			t.Errorf("unexpected search body %s (%v)", body, err)
			http.Error(w, `{"error":"bad query"}`, http.StatusBadRequest)
			return
		}
		var docs []string
		if q.Query.Bool.Filter[0].Term["trace.id"] == apmTraceID {
			docs = hits
		}
		var b strings.Builder
		b.WriteString(`{"took":3,"timed_out":false,"hits":{"total":{"value":` + strconv.Itoa(len(docs)) + `,"relation":"eq"},"hits":[`)
		for i, d := range docs {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"_index":".ds-traces-apm-default-2024.06.01-000001","_id":"` + strconv.Itoa(i) + `","_source":` + d + `}`)
		}
		b.WriteString("]}}")
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestElasticAPMFetch(t *testing.T) {
	var auth string
	srv := esServer(t, apmHits, &auth)
	src, err := NewElasticAPM(ElasticAPMConfig{URLs: []string{srv.URL}, APIKey: "a2V5"})
	require.NoError(t, err)
	require.Equal(t, "elastic-apm", src.Name())

	p, err := src.Fetch(context.Background(), apmTraceID)
	require.NoError(t, err)
	require.Equal(t, "APIKey a2V5", auth)
	require.Equal(t, apmTraceID, p.TraceID)
	require.Equal(t, profile.Transaction{
		Name:        "POST /checkout",
		URL:         "https://shop.example.com/checkout",
		Method:      "POST",
		Instance:    "checkout-7d9f6b-x2k4p",
		StartTime:   time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC),
		TotalTimeMs: 1250,
		Status:      502,
	}, p.Transaction)

	require.Len(t, p.Spans, 3)
	conn, sql, call := p.Spans[0], p.Spans[1], p.Spans[2]
	require.Equal(t, profile.KindDBConnect, conn.Kind)
	require.Equal(t, "orders-db.internal:5432", conn.RemoteAddress)
	require.Equal(t, 10.0, conn.StartOffsetMs)
	require.Equal(t, 45.0, conn.DurationMs)

	require.Equal(t, profile.KindSQL, sql.Kind)
	require.Equal(t, []string{"orders"}, sql.Tables)
	require.Equal(t, profile.CRUDSelect, sql.CRUD)
	require.Equal(t, 60.0, sql.StartOffsetMs)
	require.Equal(t, 820.0, sql.DurationMs)

	require.Equal(t, profile.KindHTTPClient, call.Kind)
	require.Equal(t, "https://pay.partner.example.com/v1/charges", call.URL)
	require.Equal(t, "pay.partner.example.com:443", call.RemoteAddress)
	require.Equal(t, 503, call.StatusCode)
	require.Equal(t, 900.0, call.StartOffsetMs)
	require.Equal(t, 330.0, call.DurationMs)
	require.Equal(t, "failure", call.Error)

	require.Equal(t, 1, p.SQLCount)
	require.Equal(t, []profile.Exception{{
		Type:    "com.shop.payment.PaymentGatewayException",
		Message: "payment partner returned 503",
		StackTrace: "at com.shop.payment.PayClient.charge(PayClient.java:88)\n" +
			"at com.shop.checkout.CheckoutController.checkout(CheckoutController.java:42)",
	}}, p.Exceptions)
}

func TestElasticAPMNotFound(t *testing.T) {
	srv := esServer(t, apmHits, nil)
	src, err := NewElasticAPM(ElasticAPMConfig{Name: "apm", URLs: []string{srv.URL}})
	require.NoError(t, err)
	_, err = src.Fetch(context.Background(), "ffffffffffffffffffffffffffffffff")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "apm")
}

func TestElasticAPMErrors(t *testing.T) {
	// Hits but no root transaction.
	srv := esServer(t, apmHits[2:], nil)
	src, err := NewElasticAPM(ElasticAPMConfig{URLs: []string{srv.URL}})
	require.NoError(t, err)
	_, err = src.Fetch(context.Background(), apmTraceID)
	require.ErrorContains(t, err, "no root transaction document")
	require.NotErrorIs(t, err, ErrNotFound)

	// An Elasticsearch error.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"type":"search_phase_execution_exception"},"status":400}`))
	}))
	defer bad.Close()
	src, err = NewElasticAPM(ElasticAPMConfig{URLs: []string{bad.URL}})
	require.NoError(t, err)
	_, err = src.Fetch(context.Background(), apmTraceID)
	require.ErrorContains(t, err, "search_phase_execution_exception")
	require.NotErrorIs(t, err, ErrNotFound)

	_, err = NewElasticAPM(ElasticAPMConfig{})
	require.Error(t, err)
}
