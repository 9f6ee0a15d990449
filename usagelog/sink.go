package usagelog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/store"
)

// Defaults of Config.
const (
	DefaultFlushInterval  = 2 * time.Second
	DefaultFlushBytes     = 1 << 20 // 1 MiB
	DefaultQueueSize      = 4096
	DefaultEnqueueTimeout = 100 * time.Millisecond
	DefaultHTTPTimeout    = 30 * time.Second
)

// Failure reasons of Stats.FailuresByReason that do not come from
// Elasticsearch. Per-item failures are keyed by Elasticsearch's error type
// (for example "mapper_parsing_exception" or
// "es_rejected_execution_exception"), or "status_<code>" when the item has no
// error type.
const (
	// ReasonRequestFailed counts documents of a bulk request that failed as a
	// whole: a transport error, or an HTTP error status after the client's
	// retries.
	ReasonRequestFailed = "request_failed"
)

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("usagelog: sink closed")

// ErrQueueFull is returned, wrapped, by Record when the queue stayed full for
// the enqueue timeout (Elasticsearch is slow or unreachable). The document is
// dropped; the store still has the call.
var ErrQueueFull = errors.New("usagelog: queue full")

// Config configures a Sink.
type Config struct {
	// URLs are the Elasticsearch nodes, e.g. "http://127.0.0.1:9200". Required.
	URLs []string
	// APIKey, when set, is sent as "Authorization: ApiKey <APIKey>" (the
	// base64 "encoded" value Elasticsearch returns when creating a key).
	APIKey string
	// IndexPrefix prefixes the index name "<prefix>-llm-calls". Default "vigil".
	IndexPrefix string
	// FlushInterval is the longest a document waits before being sent.
	// Default 2s.
	FlushInterval time.Duration
	// FlushBytes is the size of a bulk request body that triggers a flush.
	// Default 1 MiB.
	FlushBytes int
	// HTTPClient sends the requests. Default: a client of its own with a
	// 30s timeout (never http.DefaultClient). Give it a timeout.
	HTTPClient *http.Client
	// Logger receives failures (warn/error) and debug details. Default
	// slog.Default().
	Logger *slog.Logger

	// QueueSize is the number of documents that can wait for the bulk
	// indexer while a request is in flight. Default 4096.
	QueueSize int
	// EnqueueTimeout bounds how long Record waits for room in a full queue
	// before dropping the document with ErrQueueFull. Default 100ms.
	EnqueueTimeout time.Duration
	// RetryMax caps the wait between attempts to install the index template
	// while Elasticsearch cannot be reached. Default 30s.
	RetryMax time.Duration
}

// Stats are the sink's counters since New.
type Stats struct {
	// Added, Flushed, Indexed, Failed and Requests come from the bulk
	// indexer (esutil.BulkIndexerStats): documents accepted by Record,
	// documents Elasticsearch acknowledged, of those the ones written with
	// the index action (all of them), documents that failed (per item or with
	// their whole request), and bulk requests sent.
	Added, Flushed, Indexed, Failed, Requests uint64
	// Dropped counts documents Record refused (queue full, sink closed,
	// document not encodable); they are not in Added.
	Dropped uint64
	// Errors counts indexer errors: failed bulk requests and unreadable bulk
	// responses.
	Errors uint64
	// FailuresByReason splits Failed by reason: Elasticsearch's error type
	// for per-item failures, ReasonRequestFailed for whole-request failures.
	FailuresByReason map[string]uint64
	// Ready is true once the index template is installed; before that
	// documents wait in memory (Buffered, at most QueueSize of them; more are
	// Dropped and counted in DroppedUnavailable).
	Ready              bool
	Buffered           int
	DroppedUnavailable uint64
	// LastError is the last failure to install the index template (empty
	// once it is installed).
	LastError string
}

// Sink sends LLM call documents to Elasticsearch. It is safe for concurrent
// use. A nil *Sink is valid and does nothing (Elasticsearch not configured).
type Sink struct {
	client  *elasticsearch.Client
	bi      esutil.BulkIndexer
	index   string
	log     *slog.Logger
	timeout time.Duration

	mu     sync.RWMutex // held for reading by Record around Add, for writing by Close
	closed bool

	dropped   atomic.Uint64 // documents Record refused
	addFailed atomic.Uint64 // of those, the ones the indexer counted as added
	errs      atomic.Uint64

	failMu   sync.Mutex
	failures map[string]uint64

	// Until the index template is installed, documents wait here (bounded by
	// queueSize): indexing them before would create the index with dynamic
	// mappings.
	ready      atomic.Bool
	pendMu     sync.Mutex
	pending    []pendingDoc
	queueSize  int
	dropDown   atomic.Uint64
	lastErr    atomic.Value // string
	stop       chan struct{}
	installed  chan struct{} // closed once the template is installed and the buffer drained
	installWG  sync.WaitGroup
	templateFn func(context.Context) error
}

// pendingDoc is a document recorded while the index template was not installed yet.
type pendingDoc struct {
	id   string
	body []byte
}

// New connects to Elasticsearch, starts the bulk indexer and installs the index template
// (PUT /_index_template/<prefix>-llm-calls, see IndexTemplate). It fails only on a bad
// configuration: when Elasticsearch cannot be reached or refuses the template, New still returns
// the sink — the usage log is a side channel and must not stop Vigil — and keeps trying in the
// background (backing off to Config.RetryMax), logging each failure; meanwhile documents wait in
// memory, at most QueueSize of them (more are dropped and counted), and are sent once the
// template is in place.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("usagelog: no Elasticsearch URLs")
	}
	if cfg.IndexPrefix == "" {
		cfg.IndexPrefix = DefaultIndexPrefix
	}
	if err := checkPrefix(cfg.IndexPrefix); err != nil {
		return nil, err
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = DefaultFlushBytes
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.EnqueueTimeout <= 0 {
		cfg.EnqueueTimeout = DefaultEnqueueTimeout
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout:   DefaultHTTPTimeout,
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "usagelog")

	client, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: cfg.URLs,
		APIKey:    cfg.APIKey,
		Transport: clientTransport{cfg.HTTPClient},
		// Bulk requests are idempotent (index action with _id): retry
		// overload and gateway errors with backoff; a 500 or a 4xx is not
		// retried.
		RetryOnStatus: []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		MaxRetries:    3,
		RetryBackoff:  backoff,
	})
	if err != nil {
		return nil, fmt.Errorf("usagelog: elasticsearch client: %w", err)
	}

	index := IndexName(cfg.IndexPrefix)
	s := &Sink{
		client:    client,
		index:     index,
		log:       log,
		timeout:   cfg.EnqueueTimeout,
		failures:  make(map[string]uint64),
		queueSize: cfg.QueueSize,
		stop:      make(chan struct{}),
		installed: make(chan struct{}),
	}
	s.templateFn = func(ctx context.Context) error {
		return putTemplate(ctx, client, index, IndexTemplate(cfg.IndexPrefix))
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:        client,
		NumWorkers:    1, // one bulk request at a time is plenty for a usage log
		FlushBytes:    cfg.FlushBytes,
		FlushInterval: cfg.FlushInterval,
		// The single worker's channel is the queue.
		QueueSizeMultiplier: cfg.QueueSize,
		Header:              http.Header{"Content-Type": []string{"application/x-ndjson"}},
		OnError:             s.onError,
	})
	if err != nil {
		_ = client.Close(context.Background())
		return nil, fmt.Errorf("usagelog: bulk indexer: %w", err)
	}
	s.bi = bi

	// One attempt now, bounded; the rest in the background.
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = s.templateFn(tctx)
	cancel()
	if err == nil {
		s.markReady()
		log.Debug("usagelog sink started", "index", index, "nodes", len(cfg.URLs))
		return s, nil
	}
	s.lastErr.Store(err.Error())
	log.Warn("usage log: Elasticsearch is not available; LLM call documents wait in memory and are sent once it is (check elasticsearch.urls)",
		"error", err, "buffer", cfg.QueueSize)
	s.installWG.Add(1)
	go s.installLoop(cfg.RetryMax)
	return s, nil
}

// installLoop retries the template until it is installed or the sink is closed.
func (s *Sink) installLoop(maxWait time.Duration) {
	defer s.installWG.Done()
	wait := time.Second
	for attempt := 2; ; attempt++ {
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.templateFn(ctx)
		cancel()
		if err == nil {
			s.markReady()
			s.log.Info("usage log: Elasticsearch is available again; buffered documents sent", "attempt", attempt)
			return
		}
		s.lastErr.Store(err.Error())
		s.log.Warn("usage log: Elasticsearch still not available (check elasticsearch.urls)", "error", err, "attempt", attempt,
			"buffered", s.Stats().Buffered, "next_in", wait)
		wait = min(wait*2, maxWait)
	}
}

// markReady sends the buffered documents to the bulk indexer and lets Record send directly.
func (s *Sink) markReady() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.pendMu.Lock()
	pending := s.pending
	s.pending = nil
	s.lastErr.Store("")
	s.ready.Store(true)
	s.pendMu.Unlock()
	if !s.closed {
		for _, d := range pending {
			_ = s.add(context.Background(), d.id, d.body)
		}
	}
	close(s.installed)
}

// Installed is closed once the index template is installed and the documents buffered until
// then are queued for sending.
func (s *Sink) Installed() <-chan struct{} { return s.installed }

// Index returns the name of the index the sink writes to.
func (s *Sink) Index() string {
	if s == nil {
		return ""
	}
	return s.index
}

// Record enqueues the document of one call (see Document); it is sent in a
// later bulk request. The call's ID is the document _id, so recording a call
// again replaces its document. Record waits at most the enqueue timeout
// (or until ctx is done) when the queue is full, then drops the document and
// returns an error wrapping ErrQueueFull. Delivery failures are not returned:
// they are logged and counted in Stats. error_class is left empty: use
// RecordClass to set it.
func (s *Sink) Record(ctx context.Context, c store.LLMCall) error {
	return s.RecordClass(ctx, c, c.ErrorClass)
}

// RecordClass is Record with the document's error_class set, typically
// ErrorClass of the provider call's error.
func (s *Sink) RecordClass(ctx context.Context, c store.LLMCall, errorClass string) error {
	if s == nil {
		return nil
	}
	if c.ID == "" {
		s.dropped.Add(1)
		return errors.New("usagelog: LLM call without ID")
	}
	body, err := json.Marshal(NewDocument(c, errorClass))
	if err != nil {
		s.dropped.Add(1)
		return fmt.Errorf("usagelog: encode call %q: %w", c.ID, err)
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.dropped.Add(1)
		return ErrClosed
	}
	if !s.ready.Load() {
		s.pendMu.Lock()
		if !s.ready.Load() {
			defer s.pendMu.Unlock()
			if len(s.pending) >= s.queueSize {
				s.dropped.Add(1)
				s.dropDown.Add(1)
				return fmt.Errorf("usagelog: call %q: Elasticsearch unavailable and %d documents already wait: %w", c.ID, len(s.pending), ErrQueueFull)
			}
			s.pending = append(s.pending, pendingDoc{id: c.ID, body: body})
			return nil
		}
		s.pendMu.Unlock()
	}
	return s.add(ctx, c.ID, body)
}

// add hands one document to the bulk indexer (s.mu held for reading).
func (s *Sink) add(ctx context.Context, id string, body []byte) error {
	// Wait for room in the queue at most s.timeout, and not after the
	// caller gives up. (The indexer keeps this context for the item's
	// callbacks, which only log; the bulk request itself does not use it.)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	err := s.bi.Add(actx, esutil.BulkIndexerItem{
		Index:      s.index,
		Action:     "index",
		DocumentID: id,
		Body:       bytes.NewReader(body),
		OnFailure:  s.onFailure,
	})
	if err != nil {
		s.dropped.Add(1)
		s.addFailed.Add(1)
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			err = ErrQueueFull
		}
		return fmt.Errorf("usagelog: enqueue call %q: %w", id, err)
	}
	return nil
}

// Close flushes the queued documents, waits for the last bulk request, and
// stops the sink. Later Records return ErrClosed. If ctx ends first, Close
// returns its error and unsent documents are lost. Calling Close again
// returns nil.
func (s *Sink) Close(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.installWG.Wait()
	s.pendMu.Lock()
	if lost := len(s.pending); lost > 0 {
		s.dropped.Add(uint64(lost))
		s.dropDown.Add(uint64(lost))
		s.log.Warn("usage log: Elasticsearch never became available; buffered documents lost (the store keeps every call)", "lost", lost)
		s.pending = nil
	}
	s.pendMu.Unlock()

	err := s.bi.Close(ctx)
	st := s.Stats()
	s.log.Info("usagelog sink closed", "index", s.index,
		"added", st.Added, "indexed", st.Indexed, "failed", st.Failed, "dropped", st.Dropped)
	if cerr := s.client.Close(ctx); cerr != nil && !errors.Is(cerr, elasticsearch.ErrAlreadyClosed) && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("usagelog: close: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Sink) Stats() Stats {
	if s == nil {
		return Stats{FailuresByReason: map[string]uint64{}}
	}
	bs := s.bi.Stats()
	st := Stats{
		// The indexer counts an item as added before it may fail to
		// enqueue it; such items are in Dropped instead.
		Added:              bs.NumAdded - min(bs.NumAdded, s.addFailed.Load()),
		Flushed:            bs.NumFlushed,
		Indexed:            bs.NumIndexed,
		Failed:             bs.NumFailed,
		Requests:           bs.NumRequests,
		Dropped:            s.dropped.Load(),
		Errors:             s.errs.Load(),
		FailuresByReason:   make(map[string]uint64),
		Ready:              s.ready.Load(),
		DroppedUnavailable: s.dropDown.Load(),
	}
	if e, ok := s.lastErr.Load().(string); ok {
		st.LastError = e
	}
	s.pendMu.Lock()
	st.Buffered = len(s.pending)
	s.pendMu.Unlock()
	s.failMu.Lock()
	for k, v := range s.failures {
		st.FailuresByReason[k] = v
	}
	s.failMu.Unlock()
	return st
}

// onFailure is called by the indexer for each failed document: err is set
// when the whole bulk request failed (already logged by onError), otherwise
// res holds Elasticsearch's answer for the item.
func (s *Sink) onFailure(ctx context.Context, item esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
	if err != nil {
		s.countFailure(ReasonRequestFailed)
		s.log.Debug("LLM call document not indexed: bulk request failed", "index", s.index, "id", item.DocumentID, "error", err)
		return
	}
	reason := res.Error.Type
	if reason == "" {
		reason = fmt.Sprintf("status_%d", res.Status)
	}
	s.countFailure(reason)
	attrs := []any{
		"index", item.Index,
		"id", item.DocumentID,
		"status", res.Status,
		"error_type", res.Error.Type,
		"reason", res.Error.Reason,
	}
	if res.Error.Cause.Type != "" {
		attrs = append(attrs, "caused_by", res.Error.Cause.Type+": "+res.Error.Cause.Reason)
	}
	s.log.Warn("LLM call document rejected by Elasticsearch", attrs...)
}

func (s *Sink) countFailure(reason string) {
	s.failMu.Lock()
	s.failures[reason]++
	s.failMu.Unlock()
}

// onError is called by the indexer once per failed bulk request, for an
// unreadable bulk response, and when a context ends during Add or Close.
func (s *Sink) onError(ctx context.Context, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Add gave up waiting (Record returns it) or Close timed out
		// (Close returns it).
		return
	}
	s.errs.Add(1)
	msg := err.Error()
	if len(msg) > 2048 {
		msg = msg[:2048] + "..."
	}
	s.log.Error("Elasticsearch bulk request failed", "index", s.index, "error", msg)
}

// ErrorClass names the failure of an LLM provider call for the error_class
// field: the Class of an *llm.ProviderError, "canceled" or "timeout" for
// context errors, "other" for any other error, and "" for nil.
func ErrorClass(err error) string {
	var pe *llm.ProviderError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe) && pe.Class != "":
		return pe.Class
	case errors.Is(err, context.DeadlineExceeded):
		return llm.ClassTimeout
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "other"
	}
}

func putTemplate(ctx context.Context, client *elasticsearch.Client, name string, body []byte) error {
	res, err := client.Indices.PutIndexTemplate(name, bytes.NewReader(body),
		client.Indices.PutIndexTemplate.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("usagelog: install index template %q: %w", name, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("usagelog: install index template %q: Elasticsearch answered %s: %s",
			name, res.Status(), esErrorReason(res.Body))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}

// esErrorReason extracts "type: reason" from an Elasticsearch error body, or
// returns the start of the body.
func esErrorReason(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	var e struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Type != "" {
		return e.Error.Type + ": " + e.Error.Reason
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// checkPrefix rejects prefixes that cannot start an Elasticsearch index name.
func checkPrefix(p string) error {
	if strings.ToLower(p) != p || strings.ContainsAny(p, `\/*?"<>| ,#:`) || strings.HasPrefix(p, "-") ||
		strings.HasPrefix(p, "_") || strings.HasPrefix(p, "+") || p == "." || p == ".." {
		return fmt.Errorf("usagelog: invalid index prefix %q (lowercase, no spaces or \\/*?\"<>|,#:)", p)
	}
	return nil
}

// backoff is the client's retry delay: 100ms, 200ms, 400ms, ... capped at 2s.
func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(max(attempt-1, 0), 5)
	return min(d, 2*time.Second)
}

// clientTransport sends the Elasticsearch client's requests through an
// http.Client, so that its Timeout applies.
type clientTransport struct{ c *http.Client }

func (t clientTransport) RoundTrip(r *http.Request) (*http.Response, error) { return t.c.Do(r) }
