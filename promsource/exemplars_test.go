package promsource

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestExemplars(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_exemplars" {
			http.NotFound(w, r)
			return
		}
		got = r.URL.Query().Get("query")
		w.Write([]byte(`{"status":"success","data":[{"seriesLabels":{"http_route":"/api/checkout","http_response_status_code":"500"},
		  "exemplars":[{"labels":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"},"value":"4.1","timestamp":1733109240.5},
		               {"labels":{"span_id":"x"},"value":"1","timestamp":1733109241}]}]}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.Exemplars(t.Context(), DefaultExemplarSelector, `check"out`, time.Unix(1733109000, 0), time.Unix(1733109300, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got != `http_server_request_duration_seconds_bucket{service_name="check\"out"}` {
		t.Errorf("query %s", got)
	}
	if len(ex) != 1 || ex[0].TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || ex[0].Value != 4.1 ||
		ex[0].SeriesLabels["http_response_status_code"] != "500" || ex[0].At.Unix() != 1733109240 {
		t.Errorf("exemplars %+v", ex)
	}
}
