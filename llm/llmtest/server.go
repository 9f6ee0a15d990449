package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake OpenAI-compatible chat-completions endpoint.
type Server struct {
	// URL is the base URL of the API, ending in /v1 (e.g. http://127.0.0.1:41234/v1).
	URL string
	// RootURL is the server's root URL without /v1, the base URL of Azure-style clients.
	RootURL string

	srv     *httptest.Server
	key     string
	closing chan struct{}

	mu      sync.Mutex
	queue   []Reply
	def     Reply
	handler func(Received) Reply
	reqs    []Received
	seq     int
}

// Message is one chat message of a received request. Content holds the text of a string
// content, or the concatenated text parts of an array content.
type Message struct {
	Role    string
	Content string
}

// Received is one request the server received.
type Received struct {
	// Model is the request's "model" field.
	Model string
	// Messages are the request's messages, in order.
	Messages []Message
	// Body is the raw request body.
	Body []byte
	// Header is a copy of the request headers.
	Header http.Header
	// Time is when the request arrived.
	Time time.Time
	// Method, Path and Query describe the request line.
	Method string
	Path   string
	Query  url.Values
}

// JSON decodes the raw body into a generic map, for assertions on which fields were sent.
// It returns nil if the body is not a JSON object.
func (r Received) JSON() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil
	}
	return m
}

// Reply scripts one answer.
type Reply struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Text is the assistant content of a 2xx answer.
	Text string
	// Refusal sets choices[0].message.refusal (content is null when Text is empty).
	Refusal string
	// FinishReason is choices[0].finish_reason; default "stop".
	FinishReason string
	// Model is the response's "model"; default the requested model.
	Model string
	// Body, when non-empty, is sent verbatim instead of a generated body (malformed JSON,
	// custom error JSON, ...), with the Status.
	Body string
	// Headers are set on the response, e.g. {"Retry-After": "3"}.
	Headers map[string]string
	// Delay is waited before answering; the wait ends early when the client goes away or
	// the server closes.
	Delay time.Duration
	// Hangup closes the connection without answering (after Delay): the client sees EOF.
	Hangup bool
	// PromptTokens and CompletionTokens are reported in usage; 0 means a rough word count
	// of the request's messages or of Text, a negative value reports 0.
	PromptTokens, CompletionTokens int
	// Chunks, for a request with "stream": true, are the content deltas sent one by one as
	// Server-Sent Events (default: Text as one chunk); ChunkDelay is waited before each one after
	// the first, and BreakAfter > 0 hangs up after that many chunks (no finish, no [DONE]).
	Chunks     []string
	ChunkDelay time.Duration
	BreakAfter int
	// ErrorCode and ErrorMessage fill the OpenAI error body
	// {"error":{"message":...,"type":...,"code":...}} of a non-2xx answer without Body.
	ErrorCode, ErrorMessage string
}

// Text returns a 200 reply with the given assistant content.
func Text(s string) Reply { return Reply{Text: s} }

// Errorf returns a reply with the given status and an OpenAI error body carrying code
// (omitted as null when empty) and msg.
func Errorf(status int, code, msg string) Reply {
	return Reply{Status: status, ErrorCode: code, ErrorMessage: msg}
}

// RateLimited returns a 429 reply with the given Retry-After header value (seconds or an
// HTTP-date; no header when empty).
func RateLimited(retryAfter string) Reply {
	r := Errorf(http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit reached, please try again later.")
	if retryAfter != "" {
		r.Headers = map[string]string{"Retry-After": retryAfter}
	}
	return r
}

// NewServer starts a server on 127.0.0.1 that accepts any (or no) API key. It is closed in
// t.Cleanup.
func NewServer(t testing.TB) *Server { return newServer(t, "") }

// NewServerWithKey starts a server that answers 401 unless the request carries
// "Authorization: Bearer <key>" (or Azure's "api-key: <key>").
func NewServerWithKey(t testing.TB, key string) *Server { return newServer(t, key) }

func newServer(t testing.TB, key string) *Server {
	t.Helper()
	s := &Server{key: key, def: Text("ok"), closing: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.RootURL = s.srv.URL
	s.URL = s.srv.URL + "/v1"
	t.Cleanup(func() {
		close(s.closing) // ends pending Delays so Close does not wait for them
		s.srv.Close()
	})
	return s
}

// Enqueue appends replies to the queue; each request takes the next one (FIFO). When the
// queue is empty the default reply is used.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// SetDefault sets the reply used when the queue is empty (initially Text("ok")).
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = r
}

// SetHandler computes the reply of every request from what was received; it overrides the
// queue and the default while set. Pass nil to go back to them. f may be called concurrently.
func (s *Server) SetHandler(f func(Received) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = f
}

// Requests returns a copy of everything received, in arrival order.
func (s *Server) Requests() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.reqs...)
}

// Count returns the number of requests received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && (r.URL.Path == "/v1/models" || r.URL.Path == "/models") {
		// OpenAI's model list: what reachability probes (Vigil's dependency status) read. It is
		// answered, and not recorded with the chat requests a test counts.
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{}})
		return
	}
	body, _ := io.ReadAll(r.Body)
	rec := Received{
		Body: body, Header: r.Header.Clone(), Time: time.Now(),
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
	}
	var wire struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	parseErr := json.Unmarshal(body, &wire)
	rec.Model = wire.Model
	for _, m := range wire.Messages {
		rec.Messages = append(rec.Messages, Message{Role: m.Role, Content: contentText(m.Content)})
	}

	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.seq++
	seq := s.seq
	s.mu.Unlock()

	switch {
	case !isChatPath(r.URL.Path):
		writeError(w, http.StatusNotFound, "not_found", "invalid URL ("+r.Method+" "+r.URL.Path+")", "invalid_request_error")
		return
	case r.Method != http.MethodPost:
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" not allowed", "invalid_request_error")
		return
	case s.key != "" && r.Header.Get("Authorization") != "Bearer "+s.key && r.Header.Get("api-key") != s.key:
		msg := "Incorrect API key provided."
		if r.Header.Get("Authorization") == "" && r.Header.Get("api-key") == "" {
			msg = "You didn't provide an API key."
		}
		writeError(w, http.StatusUnauthorized, "invalid_api_key", msg, "invalid_request_error")
		return
	case parseErr != nil:
		writeError(w, http.StatusBadRequest, "invalid_json", "could not parse the JSON body: "+parseErr.Error(), "invalid_request_error")
		return
	}

	reply := s.next(rec)
	if reply.Delay > 0 {
		timer := time.NewTimer(reply.Delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		case <-s.closing:
			timer.Stop()
			return
		}
	}
	if reply.Hangup {
		hangup(w)
		return
	}
	for k, v := range reply.Headers {
		w.Header().Set(k, v)
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case reply.Body != "":
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply.Body)
	case status < 200 || status > 299:
		msg := reply.ErrorMessage
		if msg == "" {
			msg = http.StatusText(status)
		}
		writeError(w, status, reply.ErrorCode, msg, errorType(status))
	case wire.Stream:
		writeStream(w, seq, rec, wire.Model, reply, wire.StreamOptions != nil && wire.StreamOptions.IncludeUsage, s.closing)
	default:
		writeCompletion(w, status, seq, rec, wire.Model, reply)
	}
}

// writeStream answers a streaming request with chat.completion.chunk events, as OpenAI does.
func writeStream(w http.ResponseWriter, seq int, rec Received, model string, r Reply, usage bool, closing <-chan struct{}) {
	if r.Model != "" {
		model = r.Model
	}
	chunks := r.Chunks
	if chunks == nil {
		chunks = []string{r.Text}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	id := fmt.Sprintf("chatcmpl-llmtest-%d", seq)
	event := func(delta map[string]any, finish any, extra map[string]any) {
		ev := map[string]any{"id": id, "object": "chat.completion.chunk", "created": rec.Time.Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		for k, v := range extra {
			ev[k] = v
		}
		b, _ := json.Marshal(ev)
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	event(map[string]any{"role": "assistant", "content": ""}, nil, nil)
	for i, c := range chunks {
		if i > 0 && r.ChunkDelay > 0 {
			select {
			case <-time.After(r.ChunkDelay):
			case <-closing:
				return
			}
		}
		if r.BreakAfter > 0 && i == r.BreakAfter {
			hangup(w)
			return
		}
		event(map[string]any{"content": c}, nil, nil)
	}
	finish := r.FinishReason
	if finish == "" {
		finish = "stop"
	}
	event(map[string]any{}, finish, nil)
	if usage {
		prompt := tokens(r.PromptTokens, func() int { return len(strings.Fields(rec.Messages[len(rec.Messages)-1].Content)) })
		completion := tokens(r.CompletionTokens, func() int { return len(strings.Fields(strings.Join(chunks, ""))) })
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": rec.Time.Unix(), "model": model,
			"choices": []any{}, "usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

func (s *Server) next(rec Received) Reply {
	s.mu.Lock()
	h := s.handler
	if h == nil {
		defer s.mu.Unlock()
		if len(s.queue) > 0 {
			r := s.queue[0]
			s.queue = s.queue[1:]
			return r
		}
		return s.def
	}
	s.mu.Unlock()
	return h(rec)
}

func isChatPath(p string) bool {
	if p == "/v1/chat/completions" {
		return true
	}
	// Azure: /openai/deployments/{deployment}/chat/completions
	rest, ok := strings.CutPrefix(p, "/openai/deployments/")
	if !ok {
		return false
	}
	dep, ok := strings.CutSuffix(rest, "/chat/completions")
	return ok && dep != "" && !strings.Contains(dep, "/")
}

func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return ""
}

func errorType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, msg, typ string) {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": c,
	}})
}

func writeCompletion(w http.ResponseWriter, status, seq int, rec Received, model string, r Reply) {
	if r.Model != "" {
		model = r.Model
	}
	finish := r.FinishReason
	if finish == "" {
		finish = "stop"
	}
	msg := map[string]any{"role": "assistant", "content": r.Text, "refusal": nil}
	if r.Refusal != "" {
		msg["refusal"] = r.Refusal
		if r.Text == "" {
			msg["content"] = nil
		}
	}
	prompt := tokens(r.PromptTokens, func() int {
		n := 0
		for _, m := range rec.Messages {
			n += len(strings.Fields(m.Content))
		}
		return n
	})
	completion := tokens(r.CompletionTokens, func() int { return len(strings.Fields(r.Text)) })
	writeJSON(w, status, map[string]any{
		"id":      fmt.Sprintf("chatcmpl-llmtest-%d", seq),
		"object":  "chat.completion",
		"created": rec.Time.Unix(),
		"model":   model,
		"choices": []any{map[string]any{
			"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish,
		}},
		"usage": map[string]any{
			"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
		},
	})
}

func tokens(v int, count func() int) int {
	switch {
	case v > 0:
		return v
	case v < 0:
		return 0
	default:
		return count()
	}
}

// hangup closes the connection without writing a response.
func hangup(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
