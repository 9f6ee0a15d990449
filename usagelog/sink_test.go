package usagelog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/store"
)

// itemFailure is the answer the fake gives to one document of a bulk request.
type itemFailure struct {
	status int
	typ    string
	reason string
}

// fakeES emulates the parts of Elasticsearch the sink uses: the index
// template API and the bulk API, with the X-Elastic-Product header the
// go-elasticsearch v8 client checks.
type fakeES struct {
	t *testing.T

	// Behaviour, set before use.
	templateStatus int                    // non-zero: reject the template PUT with this status
	bulkStatuses   []int                  // statuses of successive bulk requests; 200 once exhausted
	itemFailures   map[string]itemFailure // per document _id
	bulkStarted    chan struct{}          // if set, signalled when a bulk request arrives
	bulkRelease    chan struct{}          // if set, a bulk request waits for it

	mu           sync.Mutex
	templates    map[string][]byte
	authHeaders  []string
	bulkRequests int
	actions      []map[string]map[string]any
	docs         map[string]map[string]any // last document indexed per _id
}

func newFakeES(t *testing.T) (*fakeES, *httptest.Server) {
	t.Helper()
	f := &fakeES{
		t:            t,
		itemFailures: map[string]itemFailure{},
		templates:    map[string][]byte{},
		docs:         map[string]map[string]any{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	f.authHeaders = append(f.authHeaders, r.Header.Get("Authorization"))
	f.mu.Unlock()

	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		writeJSON(w, http.StatusOK, map[string]any{
			"name": "fake", "cluster_name": "fake", "tagline": "You Know, for Search",
			"version": map[string]any{"number": "8.19.4", "build_flavor": "default"},
		})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_index_template/"):
		f.putTemplate(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/_bulk":
		f.bulk(w, r)
	default:
		writeJSON(w, http.StatusNotFound, esError("resource_not_found_exception", "no handler for "+r.Method+" "+r.URL.Path))
	}
}

func (f *fakeES) putTemplate(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/_index_template/")
	body, err := io.ReadAll(r.Body)
	if err != nil || !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, esError("parse_exception", "request body is required and must be JSON"))
		return
	}
	if f.templateStatus != 0 {
		writeJSON(w, f.templateStatus, esErrorStatus(f.templateStatus, "illegal_argument_exception",
			"composable template ["+name+"] template after composition is invalid"))
		return
	}
	f.mu.Lock()
	f.templates[name] = body
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

func (f *fakeES) bulk(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if f.bulkStarted != nil {
		f.bulkStarted <- struct{}{}
	}
	if f.bulkRelease != nil {
		<-f.bulkRelease
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bulkRequests++

	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("bulk Content-Type = %q, want application/x-ndjson", ct)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read bulk body: %v", err)
		return
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		t.Errorf("bulk body must end with a newline: %q", body)
	}
	if n := len(f.bulkStatuses); n > 0 {
		status := f.bulkStatuses[0]
		f.bulkStatuses = f.bulkStatuses[1:]
		if status != http.StatusOK {
			writeJSON(w, status, esErrorStatus(status, "internal_server_error", fmt.Sprintf("fake failure %d", status)))
			return
		}
	}

	var items []map[string]any
	hasErrors := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		actionLine := append([]byte(nil), sc.Bytes()...)
		var action map[string]map[string]any
		if err := json.Unmarshal(actionLine, &action); err != nil {
			t.Errorf("bulk action line is not JSON: %q: %v", actionLine, err)
			return
		}
		meta, ok := action["index"]
		if len(action) != 1 || !ok {
			t.Errorf("bulk action must be a single index action, got %s", actionLine)
			return
		}
		id, _ := meta["_id"].(string)
		index, _ := meta["_index"].(string)
		if id == "" || index == "" {
			t.Errorf("bulk action without _index or _id: %s", actionLine)
		}
		if !sc.Scan() {
			t.Errorf("bulk action %s has no document line", actionLine)
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Errorf("bulk document of %q is not a JSON object: %q: %v", id, sc.Bytes(), err)
			return
		}
		f.actions = append(f.actions, action)

		if fail, ok := f.itemFailures[id]; ok {
			hasErrors = true
			items = append(items, map[string]any{"index": map[string]any{
				"_index": index, "_id": id, "status": fail.status,
				"error": map[string]any{"type": fail.typ, "reason": fail.reason},
			}})
			continue
		}
		result, status := "created", http.StatusCreated
		version := 1
		if _, seen := f.docs[id]; seen {
			result, status, version = "updated", http.StatusOK, 2
		}
		f.docs[id] = doc
		items = append(items, map[string]any{"index": map[string]any{
			"_index": index, "_id": id, "_version": version, "result": result, "status": status,
			"_shards": map[string]any{"total": 2, "successful": 1, "failed": 0},
			"_seq_no": len(f.actions) - 1, "_primary_term": 1,
		}})
	}
	if err := sc.Err(); err != nil {
		t.Errorf("scan bulk body: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"took": 3, "errors": hasErrors, "items": items})
}

func esError(typ, reason string) map[string]any {
	return esErrorStatus(http.StatusBadRequest, typ, reason)
}

func esErrorStatus(status int, typ, reason string) map[string]any {
	return map[string]any{
		"error": map[string]any{
			"root_cause": []any{map[string]any{"type": typ, "reason": reason}},
			"type":       typ, "reason": reason,
		},
		"status": status,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeES) snapshot() (requests int, docs map[string]map[string]any, actions []map[string]map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	docs = make(map[string]map[string]any, len(f.docs))
	for k, v := range f.docs {
		docs[k] = v
	}
	return f.bulkRequests, docs, append([]map[string]map[string]any(nil), f.actions...)
}

// logBuffer is a goroutine-safe log destination.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(srv *httptest.Server, logs *logBuffer) Config {
	return Config{
		URLs:          []string{srv.URL},
		FlushInterval: time.Hour, // flushed by Close unless a test says otherwise
		HTTPClient:    &http.Client{Timeout: 5 * time.Second},
		Logger:        slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func call(id string) store.LLMCall {
	return store.LLMCall{
		ID:           id,
		Time:         time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("CET", 3600)),
		Client:       "ops-bot",
		Role:         "triage",
		RoleVersion:  3,
		Provider:     "openai",
		Model:        "gpt-4o-mini",
		Subject:      "HighErrorRate checkout",
		Request:      json.RawMessage(`{"messages":[{"role":"user","content":"why?"}]}`),
		Response:     "The checkout pods are out of memory.",
		LatencyMS:    1234,
		InputTokens:  900,
		OutputTokens: 120,
		CostUSD:      0.00042,
		WorkflowID:   "incident-42",
		Attempt:      1,
	}
}

func closeSink(t *testing.T, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Close(ctx))
}

func TestSinkIndexesDocuments(t *testing.T) {
	f, srv := newFakeES(t)
	logs := &logBuffer{}
	cfg := testConfig(srv, logs)
	cfg.APIKey = "c2VjcmV0OmtleQ=="
	s, err := New(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, "vigil-llm-calls", s.Index())

	// The template was installed under its name, with the mappings.
	f.mu.Lock()
	tmpl, ok := f.templates["vigil-llm-calls"]
	f.mu.Unlock()
	require.True(t, ok, "template PUT /_index_template/vigil-llm-calls not received")
	require.JSONEq(t, string(IndexTemplate("vigil")), string(tmpl))
	var parsed struct {
		IndexPatterns []string `json:"index_patterns"`
		Template      struct {
			Mappings struct {
				Dynamic    string                    `json:"dynamic"`
				Properties map[string]map[string]any `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	require.NoError(t, json.Unmarshal(tmpl, &parsed))
	require.Contains(t, parsed.IndexPatterns, "vigil-llm-calls")
	m := parsed.Template.Mappings
	require.Equal(t, "strict", m.Dynamic)
	wantTypes := map[string]string{
		"id": "keyword", "client": "keyword", "role": "keyword", "provider": "keyword",
		"model": "keyword", "subject": "keyword", "status": "keyword", "error_class": "keyword",
		"workflow_id": "keyword", "role_version": "integer", "attempt": "integer",
		"input_tokens": "long", "output_tokens": "long", "total_tokens": "long", "latency_ms": "long",
		"cost_usd": "double", "@timestamp": "date", "request": "text", "response": "text", "error": "text",
	}
	for field, typ := range wantTypes {
		require.Contains(t, m.Properties, field)
		require.Equal(t, typ, m.Properties[field]["type"], "mapping of %s", field)
	}
	require.Len(t, m.Properties, len(wantTypes), "unexpected mapped fields")
	require.Equal(t, false, m.Properties["request"]["index"], "request must not be indexed")

	ok1, ok2 := call("wf-1/5/1"), call("wf-1/6/1")
	failed := call("wf-1/7/2")
	failed.Status, failed.Error, failed.Response = "", "openai: HTTP 429: slow down", ""
	failed.Attempt = 2
	ctx := context.Background()
	require.NoError(t, s.Record(ctx, ok1))
	require.NoError(t, s.Record(ctx, ok2))
	require.NoError(t, s.RecordClass(ctx, failed, ErrorClass(&llm.ProviderError{Provider: "openai", StatusCode: 429, Class: llm.ClassRateLimited})))
	require.NoError(t, s.Record(ctx, ok1)) // an activity retry sends the same ID again
	closeSink(t, s)

	requests, docs, actions := f.snapshot()
	require.Equal(t, 1, requests, "one bulk request at Close")
	require.Len(t, actions, 4)
	for _, a := range actions {
		require.Equal(t, "vigil-llm-calls", a["index"]["_index"])
	}
	require.Equal(t, "wf-1/5/1", actions[3]["index"]["_id"], "the retry reuses the document ID")
	require.Len(t, docs, 3, "documents are idempotent on the call ID")

	d := docs["wf-1/5/1"]
	require.Equal(t, "2025-03-04T04:06:07.891Z", d["@timestamp"])
	require.Equal(t, "wf-1/5/1", d["id"])
	require.Equal(t, "ops-bot", d["client"])
	require.Equal(t, "triage", d["role"])
	require.EqualValues(t, 3, d["role_version"])
	require.Equal(t, "openai", d["provider"])
	require.Equal(t, "gpt-4o-mini", d["model"])
	require.Equal(t, "HighErrorRate checkout", d["subject"])
	require.Equal(t, "ok", d["status"])
	require.EqualValues(t, 1234, d["latency_ms"])
	require.EqualValues(t, 900, d["input_tokens"])
	require.EqualValues(t, 120, d["output_tokens"])
	require.EqualValues(t, 1020, d["total_tokens"])
	require.InDelta(t, 0.00042, d["cost_usd"], 1e-12)
	require.Equal(t, "incident-42", d["workflow_id"])
	require.EqualValues(t, 1, d["attempt"])
	require.JSONEq(t, string(ok1.Request), d["request"].(string))
	require.Equal(t, ok1.Response, d["response"])
	require.NotContains(t, d, "error")
	require.NotContains(t, d, "error_class")
	for field := range d {
		require.Contains(t, wantTypes, field, "document field %q is not in the strict mapping", field)
	}

	e := docs["wf-1/7/2"]
	require.Equal(t, "error", e["status"], "empty status with an error becomes error")
	require.Equal(t, "openai: HTTP 429: slow down", e["error"])
	require.Equal(t, "rate_limited", e["error_class"])
	require.EqualValues(t, 2, e["attempt"])
	require.NotContains(t, e, "response")

	st := s.Stats()
	require.EqualValues(t, 4, st.Added)
	require.EqualValues(t, 4, st.Flushed)
	require.EqualValues(t, 4, st.Indexed)
	require.EqualValues(t, 0, st.Failed)
	require.EqualValues(t, 1, st.Requests)
	require.EqualValues(t, 0, st.Dropped)
	require.EqualValues(t, 0, st.Errors)
	require.Empty(t, st.FailuresByReason)

	f.mu.Lock()
	for _, h := range f.authHeaders {
		// go-elasticsearch spells the scheme "APIKey"; auth schemes are
		// case-insensitive (RFC 9110) and Elasticsearch documents "ApiKey".
		scheme, cred, _ := strings.Cut(h, " ")
		require.True(t, strings.EqualFold("ApiKey", scheme), "Authorization = %q", h)
		require.Equal(t, "c2VjcmV0OmtleQ==", cred)
	}
	f.mu.Unlock()

	require.ErrorIs(t, s.Record(ctx, ok2), ErrClosed)
	require.NoError(t, s.Close(ctx), "Close twice")
	require.EqualValues(t, 1, s.Stats().Dropped)
}

func TestSinkFlushesOnInterval(t *testing.T) {
	f, srv := newFakeES(t)
	cfg := testConfig(srv, &logBuffer{})
	cfg.FlushInterval = 50 * time.Millisecond
	s, err := New(context.Background(), cfg)
	require.NoError(t, err)
	defer closeSink(t, s)

	require.NoError(t, s.Record(context.Background(), call("a")))
	require.Eventually(t, func() bool {
		_, docs, _ := f.snapshot()
		return len(docs) == 1
	}, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return s.Stats().Indexed == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestSinkPartialFailures(t *testing.T) {
	f, srv := newFakeES(t)
	f.itemFailures["bad"] = itemFailure{400, "mapper_parsing_exception", "failed to parse field [latency_ms] of type [long] in document with id 'bad'"}
	f.itemFailures["busy"] = itemFailure{429, "es_rejected_execution_exception", "rejected execution of coordinating operation"}
	logs := &logBuffer{}
	cfg := testConfig(srv, logs)
	cfg.IndexPrefix = "acme"
	s, err := New(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, "acme-llm-calls", s.Index())

	ctx := context.Background()
	for _, id := range []string{"good-1", "bad", "busy", "good-2"} {
		require.NoError(t, s.Record(ctx, call(id)))
	}
	closeSink(t, s)

	requests, docs, actions := f.snapshot()
	require.Equal(t, 1, requests, "failed items are not retried")
	require.Len(t, actions, 4)
	require.Equal(t, "acme-llm-calls", actions[0]["index"]["_index"])
	require.Len(t, docs, 2)

	st := s.Stats()
	require.EqualValues(t, 4, st.Added)
	require.EqualValues(t, 2, st.Flushed)
	require.EqualValues(t, 2, st.Indexed)
	require.EqualValues(t, 2, st.Failed)
	require.Equal(t, map[string]uint64{
		"mapper_parsing_exception":        1,
		"es_rejected_execution_exception": 1,
	}, st.FailuresByReason)

	out := logs.String()
	require.Contains(t, out, `"id":"bad"`)
	require.Contains(t, out, "failed to parse field [latency_ms]")
	require.Contains(t, out, `"id":"busy"`)
	require.Contains(t, out, `"status":429`)
	require.Contains(t, out, "es_rejected_execution_exception")
}

func TestSinkWholeRequestFailure(t *testing.T) {
	f, srv := newFakeES(t)
	f.bulkStatuses = []int{http.StatusInternalServerError}
	logs := &logBuffer{}
	s, err := New(context.Background(), testConfig(srv, logs))
	require.NoError(t, err)

	require.NoError(t, s.Record(context.Background(), call("x-1")))
	require.NoError(t, s.Record(context.Background(), call("x-2")))
	closeSink(t, s)

	requests, docs, _ := f.snapshot()
	require.Equal(t, 1, requests, "a 500 is not retried")
	require.Empty(t, docs)
	st := s.Stats()
	require.EqualValues(t, 2, st.Added)
	require.EqualValues(t, 0, st.Flushed)
	require.EqualValues(t, 0, st.Indexed)
	require.EqualValues(t, 2, st.Failed)
	require.EqualValues(t, 1, st.Errors)
	require.Equal(t, map[string]uint64{ReasonRequestFailed: 2}, st.FailuresByReason)
	require.Contains(t, logs.String(), "Elasticsearch bulk request failed")
	require.Contains(t, logs.String(), "500")
}

func TestSinkRetriesUnavailable(t *testing.T) {
	f, srv := newFakeES(t)
	f.bulkStatuses = []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}
	s, err := New(context.Background(), testConfig(srv, &logBuffer{}))
	require.NoError(t, err)

	require.NoError(t, s.Record(context.Background(), call("r-1")))
	closeSink(t, s)

	requests, docs, _ := f.snapshot()
	require.Equal(t, 3, requests, "503 and 429 are retried by the client")
	require.Len(t, docs, 1)
	st := s.Stats()
	require.EqualValues(t, 1, st.Indexed)
	require.EqualValues(t, 0, st.Failed)
	require.EqualValues(t, 1, st.Requests)
}

func TestRecordDoesNotBlockWhenQueueIsFull(t *testing.T) {
	f, srv := newFakeES(t)
	f.bulkStarted = make(chan struct{}, 10)
	f.bulkRelease = make(chan struct{})
	cfg := testConfig(srv, &logBuffer{})
	cfg.FlushBytes = 1 // every document is flushed on its own
	cfg.QueueSize = 1
	cfg.EnqueueTimeout = 30 * time.Millisecond
	s, err := New(context.Background(), cfg)
	require.NoError(t, err)

	ctx := context.Background()
	require.NoError(t, s.Record(ctx, call("q-1")))
	<-f.bulkStarted // the only worker is now waiting for Elasticsearch
	require.NoError(t, s.Record(ctx, call("q-2")), "fills the queue")

	start := time.Now()
	err = s.Record(ctx, call("q-3"))
	require.ErrorIs(t, err, ErrQueueFull)
	require.Contains(t, err.Error(), "q-3")
	require.Less(t, time.Since(start), 2*time.Second)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.Record(cctx, call("q-4")), context.Canceled)

	close(f.bulkRelease)
	closeSink(t, s)

	_, docs, _ := f.snapshot()
	require.Len(t, docs, 2)
	st := s.Stats()
	require.EqualValues(t, 2, st.Added)
	require.EqualValues(t, 2, st.Indexed)
	require.EqualValues(t, 2, st.Dropped)
}

// A template Elasticsearch refuses does not stop the sink: it keeps trying (logging why), and
// documents wait in memory meanwhile.
func TestTemplateRejectedKeepsTrying(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f, srv := newFakeES(t)
			f.templateStatus = status
			logs := &logBuffer{}
			s, err := New(context.Background(), testConfig(srv, logs))
			require.NoError(t, err)
			defer closeSink(t, s)
			st := s.Stats()
			require.False(t, st.Ready)
			require.Contains(t, st.LastError, `install index template "vigil-llm-calls"`)
			require.Contains(t, st.LastError, fmt.Sprint(status))
			require.Contains(t, st.LastError, "illegal_argument_exception: composable template [vigil-llm-calls]")
			require.NoError(t, s.Record(context.Background(), call("c1")))
			require.Equal(t, 1, s.Stats().Buffered)
			require.Contains(t, logs.String(), "Elasticsearch is not available")
		})
	}
}

func TestNonElasticsearchIsNotReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true}) // no X-Elastic-Product
	}))
	defer srv.Close()
	s, err := New(context.Background(), testConfig(srv, &logBuffer{}))
	require.NoError(t, err)
	defer closeSink(t, s)
	require.False(t, s.Stats().Ready)
	require.Contains(t, s.Stats().LastError, "not Elasticsearch")
}

// Elasticsearch down at start: New returns at once, documents wait (bounded, the overflow
// counted), and arrive when Elasticsearch comes up on the configured address.
func TestUnreachableAtStartThenBuffersAndDelivers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	f := &fakeES{t: t, itemFailures: map[string]itemFailure{}, templates: map[string][]byte{}, docs: map[string]map[string]any{}}
	cfg := Config{
		URLs: []string{"http://" + addr}, FlushInterval: 50 * time.Millisecond, QueueSize: 3, RetryMax: 200 * time.Millisecond,
		HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Logger:     slog.New(slog.NewJSONHandler(&logBuffer{}, nil)),
	}
	started := time.Now()
	s, err := New(context.Background(), cfg)
	require.NoError(t, err)
	require.Less(t, time.Since(started), 5*time.Second, "an unreachable Elasticsearch does not hold the start")
	defer closeSink(t, s)
	for i := range 5 {
		err := s.Record(context.Background(), call(fmt.Sprint("c", i)))
		if i < 3 {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, ErrQueueFull)
		}
	}
	st := s.Stats()
	require.False(t, st.Ready)
	require.Equal(t, 3, st.Buffered)
	require.EqualValues(t, 2, st.DroppedUnavailable)
	require.Contains(t, st.LastError, "connection refused")

	l, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(f)
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	select {
	case <-s.Installed():
	case <-time.After(10 * time.Second):
		t.Fatal("the template was not installed after Elasticsearch came up")
	}
	require.Eventually(t, func() bool {
		_, docs, _ := f.snapshot()
		return len(docs) == 3
	}, 10*time.Second, 20*time.Millisecond)
	require.True(t, s.Stats().Ready)
	require.Empty(t, s.Stats().LastError)
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(context.Background(), Config{})
	require.ErrorContains(t, err, "no Elasticsearch URLs")
	_, err = New(context.Background(), Config{URLs: []string{"http://127.0.0.1:1"}, IndexPrefix: "Vigil"})
	require.ErrorContains(t, err, "invalid index prefix")
}

func TestIndexTemplate(t *testing.T) {
	require.Equal(t, IndexTemplate(""), IndexTemplate("vigil"))
	var tmpl map[string]any
	require.NoError(t, json.Unmarshal(IndexTemplate("ops"), &tmpl))
	require.Equal(t, []any{"ops-llm-calls", "ops-llm-calls-*"}, tmpl["index_patterns"])
	require.Equal(t, "vigil-llm-calls", IndexName(""))
}

func TestErrorClass(t *testing.T) {
	require.Equal(t, "", ErrorClass(nil))
	require.Equal(t, llm.ClassAuth, ErrorClass(fmt.Errorf("call: %w", &llm.ProviderError{Class: llm.ClassAuth})))
	require.Equal(t, llm.ClassTimeout, ErrorClass(context.DeadlineExceeded))
	require.Equal(t, "canceled", ErrorClass(context.Canceled))
	require.Equal(t, "other", ErrorClass(errors.New("boom")))
}

func TestRecordRejectsCallWithoutID(t *testing.T) {
	_, srv := newFakeES(t)
	s, err := New(context.Background(), testConfig(srv, &logBuffer{}))
	require.NoError(t, err)
	defer closeSink(t, s)
	require.ErrorContains(t, s.Record(context.Background(), store.LLMCall{}), "without ID")
}

func TestNilSinkIsNoop(t *testing.T) {
	var s *Sink
	require.NoError(t, s.Record(context.Background(), call("n")))
	require.NoError(t, s.Close(context.Background()))
	require.Zero(t, s.Stats().Added)
	require.Empty(t, s.Index())
}
