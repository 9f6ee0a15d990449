package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/llm/openai"
)

func newProvider(t *testing.T, cfg openai.Config) *openai.Provider {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "fake"
	}
	p, err := openai.New(cfg)
	require.NoError(t, err)
	return p
}

func simpleRequest() llm.Request {
	return llm.Request{Model: "test-model", Messages: []llm.Message{{Role: "user", Content: "hi"}}}
}

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }

// providerError asserts err is a *llm.ProviderError and returns it.
func providerError(t *testing.T, err error) *llm.ProviderError {
	t.Helper()
	require.Error(t, err)
	var pe *llm.ProviderError
	require.True(t, errors.As(err, &pe), "want *llm.ProviderError, got %T: %v", err, err)
	require.Equal(t, "fake", pe.Provider)
	return pe
}

func TestNewValidatesConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  openai.Config
		want string
	}{
		{"empty", openai.Config{}, "base URL is required"},
		{"relative", openai.Config{BaseURL: "/v1"}, "absolute http or https"},
		{"scheme", openai.Config{BaseURL: "ftp://h/v1"}, "absolute http or https"},
		{"no host", openai.Config{BaseURL: "http:///v1"}, "no host"},
		{"unparsable", openai.Config{BaseURL: "http://h:port/v1"}, "invalid base URL"},
		{"query", openai.Config{BaseURL: "http://h/v1?x=1"}, "query"},
		{"negative timeout", openai.Config{BaseURL: "http://h/v1", Timeout: -time.Second}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openai.New(tc.cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
	p, err := openai.New(openai.Config{BaseURL: "https://api.openai.com/v1/"})
	require.NoError(t, err)
	require.Equal(t, "openai", p.Name())
}

func TestSuccessMapsResponse(t *testing.T) {
	s := llmtest.NewServerWithKey(t, "sk-1")
	s.Enqueue(llmtest.Reply{Text: "the answer", Model: "test-model-2025", PromptTokens: 123, CompletionTokens: 45})
	p := newProvider(t, openai.Config{BaseURL: s.URL, APIKey: "sk-1"})

	resp, err := p.Complete(context.Background(), simpleRequest())
	require.NoError(t, err)
	require.Equal(t, llm.Response{Text: "the answer", Model: "test-model-2025", InputTokens: 123, OutputTokens: 45}, resp)

	got := s.Requests()[0]
	require.Equal(t, "Bearer sk-1", got.Header.Get("Authorization"))
	require.Equal(t, "/v1/chat/completions", got.Path)
}

func TestNoKeyNoAuthorizationHeader(t *testing.T) {
	s := llmtest.NewServer(t)
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	_, err := p.Complete(context.Background(), simpleRequest())
	require.NoError(t, err)
	require.Empty(t, s.Requests()[0].Header.Get("Authorization"))
}

func TestRequestMapping(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{"summary":{"type":"string"},"anyOf_kept":{"anyOf":[{"type":"string"},{"type":"null"}]}},"required":["summary","anyOf_kept"],"additionalProperties":false}`)
	base := llm.Request{
		Model:  "gpt-4o-mini",
		System: "You are terse.",
		Messages: []llm.Message{
			{Role: "user", Content: "first"},
			{Role: "assistant", Content: "second"},
			{Role: "system", Content: "third"},
			{Role: "user", Content: "fourth"},
		},
	}
	for _, tc := range []struct {
		name    string
		mod     func(*llm.Request)
		present map[string]any // JSON fields and their decoded values
		absent  []string
	}{
		{
			name:    "defaults omit everything optional",
			mod:     func(*llm.Request) {},
			absent:  []string{"temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "seed", "stop", "response_format"},
			present: map[string]any{"stream": false},
		},
		{
			name: "explicit zeros are sent",
			mod: func(r *llm.Request) {
				r.Parameters = llm.Parameters{Temperature: f64(0), TopP: f64(0), PresencePenalty: f64(0), FrequencyPenalty: f64(0), Seed: intp(0)}
			},
			present: map[string]any{"temperature": 0.0, "top_p": 0.0, "presence_penalty": 0.0, "frequency_penalty": 0.0, "seed": 0.0},
			absent:  []string{"max_tokens", "stop"},
		},
		{
			name: "all parameters",
			mod: func(r *llm.Request) {
				r.Parameters = llm.Parameters{
					Temperature: f64(0.2), TopP: f64(0.9), MaxTokens: 512, PresencePenalty: f64(-0.5),
					FrequencyPenalty: f64(1.5), Seed: intp(42), Stop: []string{"END", "\n\n"},
				}
			},
			present: map[string]any{
				"temperature": 0.2, "top_p": 0.9, "max_tokens": 512.0, "presence_penalty": -0.5,
				"frequency_penalty": 1.5, "seed": 42.0, "stop": []any{"END", "\n\n"},
			},
			absent: []string{"max_completion_tokens"},
		},
		{
			name:    "text format sends nothing",
			mod:     func(r *llm.Request) { r.ResponseFormat = llm.ResponseFormat{Type: "text"} },
			absent:  []string{"response_format"},
			present: map[string]any{},
		},
		{
			name:    "json_object",
			mod:     func(r *llm.Request) { r.ResponseFormat = llm.ResponseFormat{Type: "json_object"} },
			present: map[string]any{"response_format": map[string]any{"type": "json_object"}},
		},
		{
			name: "json_schema",
			mod: func(r *llm.Request) {
				r.ResponseFormat = llm.ResponseFormat{Type: "json_schema", Name: "incident_report", Schema: schema}
			},
			present: map[string]any{"response_format": map[string]any{
				"type": "json_schema",
				"json_schema": map[string]any{
					"name": "incident_report", "strict": true, "schema": mustDecode(t, schema),
				},
			}},
		},
		{
			name: "json_schema default name",
			mod: func(r *llm.Request) {
				r.ResponseFormat = llm.ResponseFormat{Type: "json_schema", Schema: json.RawMessage(`{"type":"object"}`)}
			},
			present: map[string]any{"response_format": map[string]any{
				"type":        "json_schema",
				"json_schema": map[string]any{"name": "response", "strict": true, "schema": map[string]any{"type": "object"}},
			}},
		},
		{
			name: "reasoning model takes max_completion_tokens",
			mod: func(r *llm.Request) {
				r.Model = "gpt-5-mini"
				r.Parameters = llm.Parameters{MaxTokens: 300}
			},
			present: map[string]any{"model": "gpt-5-mini", "max_completion_tokens": 300.0},
			absent:  []string{"max_tokens"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := llmtest.NewServer(t)
			p := newProvider(t, openai.Config{BaseURL: s.URL})
			req := base
			tc.mod(&req)
			_, err := p.Complete(context.Background(), req)
			require.NoError(t, err)
			require.Equal(t, 1, s.Count())
			got := s.Requests()[0]

			require.Equal(t, req.Model, got.Model)
			require.Equal(t, []llmtest.Message{
				{Role: "system", Content: "You are terse."},
				{Role: "user", Content: "first"},
				{Role: "assistant", Content: "second"},
				{Role: "system", Content: "third"},
				{Role: "user", Content: "fourth"},
			}, got.Messages)

			body := got.JSON()
			require.NotNil(t, body, "body is not a JSON object: %s", got.Body)
			for k, want := range tc.present {
				require.Contains(t, body, k, "body: %s", got.Body)
				require.Equal(t, want, body[k], "field %s in %s", k, got.Body)
			}
			for _, k := range tc.absent {
				require.NotContains(t, body, k, "body: %s", got.Body)
			}
			// the body is sent byte-exact for the floats: 0.2 must not become 0.20000000298023224
			require.NotContains(t, string(got.Body), "0000000")
		})
	}
}

func TestNoSystemMessageWhenEmpty(t *testing.T) {
	s := llmtest.NewServer(t)
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	_, err := p.Complete(context.Background(), simpleRequest())
	require.NoError(t, err)
	require.Equal(t, []llmtest.Message{{Role: "user", Content: "hi"}}, s.Requests()[0].Messages)
}

func mustDecode(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	return v
}

func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		reply      llmtest.Reply
		status     int
		class      string
		retryable  bool
		retryAfter time.Duration
		message    string // substring
	}{
		{"429 seconds", llmtest.RateLimited("7"), 429, llm.ClassRateLimited, true, 7 * time.Second, "Rate limit"},
		{"429 no header", llmtest.RateLimited(""), 429, llm.ClassRateLimited, true, 0, "rate_limit_exceeded"},
		{"429 ms header", llmtest.Reply{Status: 429, Headers: map[string]string{"retry-after-ms": "1500", "Retry-After": "2"}}, 429, llm.ClassRateLimited, true, 1500 * time.Millisecond, ""},
		{"429 garbage header", llmtest.Reply{Status: 429, Headers: map[string]string{"Retry-After": "soon"}}, 429, llm.ClassRateLimited, true, 0, ""},
		{"500", llmtest.Errorf(500, "", "The server had an error"), 500, llm.ClassServerError, true, 0, "The server had an error"},
		{"502 html", llmtest.Reply{Status: 502, Body: "<html>Bad Gateway</html>", Headers: map[string]string{"Content-Type": "text/html"}}, 502, llm.ClassServerError, true, 0, "Bad Gateway"},
		{"503 retry-after", llmtest.Reply{Status: 503, Headers: map[string]string{"Retry-After": "3"}}, 503, llm.ClassServerError, true, 3 * time.Second, ""},
		{"400", llmtest.Errorf(400, "invalid_value", "Invalid value for 'temperature'"), 400, llm.ClassBadRequest, false, 0, "invalid_value: Invalid value"},
		{"400 context code", llmtest.Errorf(400, "context_length_exceeded", "Input too long."), 400, llm.ClassContextLength, false, 0, "context_length_exceeded"},
		{"400 context message", llmtest.Errorf(400, "", "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."), 400, llm.ClassContextLength, false, 0, "maximum context length"},
		{"400 anthropic prompt too long", llmtest.Errorf(400, "", "prompt is too long: 210000 tokens > 200000 maximum"), 400, llm.ClassContextLength, false, 0, ""},
		{"400 azure content filter", llmtest.Errorf(400, "content_filter", "The response was filtered"), 400, llm.ClassRefusal, false, 0, "content_filter"},
		{"401", llmtest.Errorf(401, "invalid_api_key", "Incorrect API key provided"), 401, llm.ClassAuth, false, 0, "Incorrect API key"},
		{"403", llmtest.Errorf(403, "", "Country not supported"), 403, llm.ClassAuth, false, 0, ""},
		{"404", llmtest.Errorf(404, "model_not_found", "The model `x` does not exist"), 404, llm.ClassNotFound, false, 0, "model_not_found"},
		{"408", llmtest.Reply{Status: 408}, 408, llm.ClassTimeout, true, 0, ""},
		{"422", llmtest.Errorf(422, "", "Unprocessable"), 422, llm.ClassBadRequest, false, 0, ""},
		{"413 too long", llmtest.Errorf(413, "", "maximum context length exceeded"), 413, llm.ClassContextLength, false, 0, ""},
		{"200 not json", llmtest.Reply{Body: "this is not json"}, 200, llm.ClassMalformed, true, 0, "not a valid chat completion"},
		{"200 empty body", llmtest.Reply{Body: " "}, 200, llm.ClassMalformed, true, 0, ""},
		{"200 truncated json", llmtest.Reply{Body: `{"choices":[{"message":{"content":"he`}, 200, llm.ClassMalformed, true, 0, ""},
		{"200 no choices", llmtest.Reply{Body: `{"id":"x","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":0}}`}, 200, llm.ClassMalformed, true, 0, "no choices"},
		{"200 error object", llmtest.Reply{Body: `{"error":{"message":"upstream failed"}}`}, 200, llm.ClassMalformed, true, 0, "no choices"},
		{"refusal", llmtest.Reply{Refusal: "I can't assist with that."}, 200, llm.ClassRefusal, false, 0, "I can't assist"},
		{"content filter", llmtest.Reply{Text: "", FinishReason: "content_filter"}, 200, llm.ClassRefusal, false, 0, "content_filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := llmtest.NewServer(t)
			s.Enqueue(tc.reply)
			p := newProvider(t, openai.Config{BaseURL: s.URL})
			_, err := p.Complete(context.Background(), simpleRequest())
			pe := providerError(t, err)
			require.Equal(t, tc.class, pe.Class, "error: %v", err)
			require.Equal(t, tc.status, pe.StatusCode)
			require.Equal(t, tc.retryable, pe.Retryable)
			require.Equal(t, tc.retryAfter, pe.RetryAfter)
			require.Contains(t, pe.Message, tc.message)
			require.Equal(t, 1, s.Count(), "exactly one request: no retries inside the provider")
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	s := llmtest.NewServer(t)
	at := time.Now().Add(30 * time.Second).UTC()
	s.Enqueue(llmtest.RateLimited(at.Format(http.TimeFormat)))
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	_, err := p.Complete(context.Background(), simpleRequest())
	pe := providerError(t, err)
	require.Equal(t, llm.ClassRateLimited, pe.Class)
	// HTTP-dates have one-second resolution
	require.Greater(t, pe.RetryAfter, 27*time.Second)
	require.LessOrEqual(t, pe.RetryAfter, 30*time.Second)

	s.Enqueue(llmtest.RateLimited(time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)))
	_, err = p.Complete(context.Background(), simpleRequest())
	require.Zero(t, providerError(t, err).RetryAfter, "a date in the past means no wait")
}

// Concurrent calls each see their own response's Retry-After.
func TestRetryAfterIsPerRequest(t *testing.T) {
	s := llmtest.NewServer(t)
	s.SetHandler(func(r llmtest.Received) llmtest.Reply {
		n := r.Messages[0].Content
		// later requests answer first, to interleave the responses
		var i int
		_, _ = fmt.Sscan(n, &i)
		return llmtest.Reply{Status: 429, Delay: time.Duration(10-i) * 5 * time.Millisecond, Headers: map[string]string{"Retry-After": n}}
	})
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	var wg sync.WaitGroup
	got := make([]time.Duration, 10)
	for i := range 10 {
		wg.Go(func() {
			_, err := p.Complete(context.Background(), llm.Request{Model: "m", Messages: []llm.Message{{Role: "user", Content: fmt.Sprint(i + 1)}}})
			var pe *llm.ProviderError
			if errors.As(err, &pe) {
				got[i] = pe.RetryAfter
			}
		})
	}
	wg.Wait()
	for i, d := range got {
		require.Equal(t, time.Duration(i+1)*time.Second, d, "call %d", i)
	}
}

func TestTimeout(t *testing.T) {
	s := llmtest.NewServer(t)
	s.SetDefault(llmtest.Reply{Text: "too late", Delay: 5 * time.Second})
	p := newProvider(t, openai.Config{BaseURL: s.URL, Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := p.Complete(context.Background(), simpleRequest())
	pe := providerError(t, err)
	require.Equal(t, llm.ClassTimeout, pe.Class, "error: %v", err)
	require.True(t, pe.Retryable)
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestTimeoutWithCustomHTTPClient(t *testing.T) {
	s := llmtest.NewServer(t)
	s.SetDefault(llmtest.Reply{Text: "too late", Delay: 5 * time.Second})
	hc := &http.Client{} // no timeout of its own: Config.Timeout still bounds the call
	p := newProvider(t, openai.Config{BaseURL: s.URL, Timeout: 150 * time.Millisecond, HTTPClient: hc})
	_, err := p.Complete(context.Background(), simpleRequest())
	require.Equal(t, llm.ClassTimeout, providerError(t, err).Class)
	require.Nil(t, hc.Transport, "the caller's client is not modified")
}

func TestCallerDeadline(t *testing.T) {
	s := llmtest.NewServer(t)
	s.SetDefault(llmtest.Reply{Text: "too late", Delay: 5 * time.Second})
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Complete(ctx, simpleRequest())
	pe := providerError(t, err)
	require.Equal(t, llm.ClassTimeout, pe.Class)
	require.True(t, pe.Retryable)
}

func TestCallerCancel(t *testing.T) {
	s := llmtest.NewServer(t)
	s.SetDefault(llmtest.Reply{Text: "too late", Delay: 5 * time.Second})
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.Complete(ctx, simpleRequest())
	require.ErrorIs(t, err, context.Canceled)
	var pe *llm.ProviderError
	require.False(t, errors.As(err, &pe))
}

func TestNetworkErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		p := newProvider(t, openai.Config{BaseURL: "http://" + addr + "/v1"})
		_, err = p.Complete(context.Background(), simpleRequest())
		pe := providerError(t, err)
		require.Equal(t, llm.ClassNetwork, pe.Class, "error: %v", err)
		require.True(t, pe.Retryable)
		require.Zero(t, pe.StatusCode)
	})
	t.Run("hang-up", func(t *testing.T) {
		s := llmtest.NewServer(t)
		s.Enqueue(llmtest.Reply{Hangup: true})
		p := newProvider(t, openai.Config{BaseURL: s.URL})
		_, err := p.Complete(context.Background(), simpleRequest())
		pe := providerError(t, err)
		require.Equal(t, llm.ClassNetwork, pe.Class, "error: %v", err)
		require.True(t, pe.Retryable)
		require.Contains(t, pe.Message, "EOF")
	})
	t.Run("body cut off", func(t *testing.T) {
		// a server that promises more body than it sends, then closes the connection
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"par`))
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			_ = conn.Close()
		})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		p := newProvider(t, openai.Config{BaseURL: "http://" + ln.Addr().String() + "/v1"})
		_, err = p.Complete(context.Background(), simpleRequest())
		pe := providerError(t, err)
		require.Equal(t, llm.ClassNetwork, pe.Class, "error: %v", err)
		require.Equal(t, 200, pe.StatusCode)
		require.True(t, pe.Retryable)
	})
}

func TestUsageKeptOnRejectedAnswers(t *testing.T) {
	s := llmtest.NewServer(t)
	s.Enqueue(llmtest.Reply{Refusal: "no", Model: "m-x", PromptTokens: 11, CompletionTokens: 2})
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	resp, err := p.Complete(context.Background(), simpleRequest())
	require.Equal(t, llm.ClassRefusal, providerError(t, err).Class)
	require.Equal(t, llm.Response{Model: "m-x", InputTokens: 11, OutputTokens: 2}, resp)
}

func TestRejectedBeforeSending(t *testing.T) {
	s := llmtest.NewServer(t)
	p := newProvider(t, openai.Config{BaseURL: s.URL})
	for _, tc := range []struct {
		name string
		req  llm.Request
		msg  string
	}{
		{"reasoning model temperature", llm.Request{Model: "o3-mini", Messages: []llm.Message{{Role: "user", Content: "x"}},
			Parameters: llm.Parameters{Temperature: f64(0.5)}}, "temperature"},
		{"schema missing", llm.Request{Model: "m", ResponseFormat: llm.ResponseFormat{Type: "json_schema"}}, "JSON schema"},
		{"schema invalid", llm.Request{Model: "m", ResponseFormat: llm.ResponseFormat{Type: "json_schema", Schema: json.RawMessage(`{"type":`)}}, "JSON schema"},
		{"unknown format", llm.Request{Model: "m", ResponseFormat: llm.ResponseFormat{Type: "yaml"}}, "yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Complete(context.Background(), tc.req)
			pe := providerError(t, err)
			require.Equal(t, llm.ClassBadRequest, pe.Class)
			require.False(t, pe.Retryable)
			require.Contains(t, pe.Message, tc.msg)
		})
	}
	require.Zero(t, s.Count())
}

func TestAzure(t *testing.T) {
	s := llmtest.NewServerWithKey(t, "az-key")
	p := newProvider(t, openai.Config{BaseURL: s.RootURL, APIKey: "az-key", AzureAPIVersion: "2024-10-21"})
	resp, err := p.Complete(context.Background(), llm.Request{Model: "gpt-3.5-turbo:prod", Messages: []llm.Message{{Role: "user", Content: "hi"}}})
	require.NoError(t, err)
	require.Equal(t, "ok", resp.Text)
	got := s.Requests()[0]
	require.Equal(t, "/openai/deployments/gpt-3.5-turbo:prod/chat/completions", got.Path, "model used verbatim as deployment")
	require.Equal(t, "2024-10-21", got.Query.Get("api-version"))
	require.Equal(t, "az-key", got.Header.Get("api-key"))
	require.Empty(t, got.Header.Get("Authorization"))
}

func TestAuthAgainstKeyedServer(t *testing.T) {
	s := llmtest.NewServerWithKey(t, "sk-right")
	p := newProvider(t, openai.Config{BaseURL: s.URL, APIKey: "sk-wrong"})
	_, err := p.Complete(context.Background(), simpleRequest())
	pe := providerError(t, err)
	require.Equal(t, llm.ClassAuth, pe.Class)
	require.Equal(t, 401, pe.StatusCode)
	require.True(t, strings.HasPrefix(err.Error(), "fake: HTTP 401: invalid_api_key"), err.Error())
}

func TestWrongPathIsNotFound(t *testing.T) {
	s := llmtest.NewServer(t)
	p := newProvider(t, openai.Config{BaseURL: s.RootURL + "/v2"})
	_, err := p.Complete(context.Background(), simpleRequest())
	require.Equal(t, llm.ClassNotFound, providerError(t, err).Class)
}
