package llmtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/llm/llmtest"
)

const chatBody = `{"model":"m1","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there world"}]}`

type completion struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func post(t *testing.T, ctx context.Context, url, body string, header map[string]string) (*http.Response, completion, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var c completion
	_ = json.Unmarshal(raw, &c)
	return resp, c, string(raw)
}

func TestDefaultReply(t *testing.T) {
	s := llmtest.NewServer(t)
	require.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"), s.URL)
	require.True(t, strings.HasSuffix(s.URL, "/v1"))

	resp, c, _ := post(t, context.Background(), s.URL+"/chat/completions", chatBody, map[string]string{"X-Test": "1"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, "m1", c.Model)
	require.Len(t, c.Choices, 1)
	require.Equal(t, "assistant", c.Choices[0].Message.Role)
	require.Equal(t, "ok", *c.Choices[0].Message.Content)
	require.Nil(t, c.Choices[0].Message.Refusal)
	require.Equal(t, "stop", c.Choices[0].FinishReason)
	require.Equal(t, 5, c.Usage.PromptTokens) // "be brief" + "hello there world"
	require.Equal(t, 1, c.Usage.CompletionTokens)
	require.Equal(t, 6, c.Usage.TotalTokens)

	require.Equal(t, 1, s.Count())
	got := s.Requests()[0]
	require.Equal(t, "m1", got.Model)
	require.Equal(t, []llmtest.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hello there world"}}, got.Messages)
	require.JSONEq(t, chatBody, string(got.Body))
	require.Equal(t, "1", got.Header.Get("X-Test"))
	require.Equal(t, "/v1/chat/completions", got.Path)
	require.Equal(t, http.MethodPost, got.Method)
	require.WithinDuration(t, time.Now(), got.Time, 5*time.Second)
	require.Equal(t, "m1", got.JSON()["model"])
}

func TestQueueThenDefault(t *testing.T) {
	s := llmtest.NewServer(t)
	s.SetDefault(llmtest.Text("fallback"))
	s.Enqueue(llmtest.Text("one"), llmtest.Reply{Text: "two", Model: "m-2", PromptTokens: 7, CompletionTokens: -1})
	var texts []string
	for range 3 {
		_, c, _ := post(t, context.Background(), s.URL+"/chat/completions", chatBody, nil)
		texts = append(texts, *c.Choices[0].Message.Content)
		if len(texts) == 2 {
			require.Equal(t, "m-2", c.Model)
			require.Equal(t, 7, c.Usage.PromptTokens)
			require.Equal(t, 0, c.Usage.CompletionTokens)
		}
	}
	require.Equal(t, []string{"one", "two", "fallback"}, texts)
	require.Equal(t, 3, s.Count())
}

func TestHandlerOverridesQueue(t *testing.T) {
	s := llmtest.NewServer(t)
	s.Enqueue(llmtest.Text("queued"))
	s.SetHandler(func(r llmtest.Received) llmtest.Reply {
		return llmtest.Text("echo: " + r.Messages[len(r.Messages)-1].Content)
	})
	_, c, _ := post(t, context.Background(), s.URL+"/chat/completions", chatBody, nil)
	require.Equal(t, "echo: hello there world", *c.Choices[0].Message.Content)

	s.SetHandler(nil)
	_, c, _ = post(t, context.Background(), s.URL+"/chat/completions", chatBody, nil)
	require.Equal(t, "queued", *c.Choices[0].Message.Content)
}

func TestErrorReplies(t *testing.T) {
	s := llmtest.NewServer(t)
	s.Enqueue(
		llmtest.Errorf(400, "context_length_exceeded", "too long"),
		llmtest.RateLimited("5"),
		llmtest.Reply{Status: 503},
		llmtest.Reply{Body: "not json", Headers: map[string]string{"Content-Type": "text/plain"}},
		llmtest.Reply{Refusal: "I can't help with that."},
		llmtest.Reply{Text: "partial", FinishReason: "content_filter"},
	)
	url := s.URL + "/chat/completions"

	resp, c, _ := post(t, context.Background(), url, chatBody, nil)
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "too long", c.Error.Message)
	require.Equal(t, "invalid_request_error", c.Error.Type)
	require.Equal(t, "context_length_exceeded", *c.Error.Code)

	resp, c, _ = post(t, context.Background(), url, chatBody, nil)
	require.Equal(t, 429, resp.StatusCode)
	require.Equal(t, "5", resp.Header.Get("Retry-After"))
	require.Equal(t, "rate_limit_exceeded", *c.Error.Code)

	resp, c, _ = post(t, context.Background(), url, chatBody, nil)
	require.Equal(t, 503, resp.StatusCode)
	require.Equal(t, "Service Unavailable", c.Error.Message)
	require.Equal(t, "server_error", c.Error.Type)
	require.Nil(t, c.Error.Code)

	resp, _, raw := post(t, context.Background(), url, chatBody, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	require.Equal(t, "not json", raw)

	_, c, _ = post(t, context.Background(), url, chatBody, nil)
	require.Nil(t, c.Choices[0].Message.Content)
	require.Equal(t, "I can't help with that.", *c.Choices[0].Message.Refusal)

	_, c, _ = post(t, context.Background(), url, chatBody, nil)
	require.Equal(t, "content_filter", c.Choices[0].FinishReason)
}

func TestServerRejections(t *testing.T) {
	s := llmtest.NewServerWithKey(t, "sk-test")
	s.Enqueue(llmtest.Text("first"))
	url := s.URL + "/chat/completions"

	resp, c, _ := post(t, context.Background(), url, chatBody, nil)
	require.Equal(t, 401, resp.StatusCode)
	require.Equal(t, "invalid_api_key", *c.Error.Code)
	resp, _, _ = post(t, context.Background(), url, chatBody, map[string]string{"Authorization": "Bearer wrong"})
	require.Equal(t, 401, resp.StatusCode)
	resp, _, _ = post(t, context.Background(), s.URL+"/embeddings", chatBody, map[string]string{"Authorization": "Bearer sk-test"})
	require.Equal(t, 404, resp.StatusCode)
	resp, _, _ = post(t, context.Background(), url, "{not json", map[string]string{"Authorization": "Bearer sk-test"})
	require.Equal(t, 400, resp.StatusCode)
	getResp, err := http.Get(url)
	require.NoError(t, err)
	getResp.Body.Close()
	require.Equal(t, 405, getResp.StatusCode)

	// none of the rejections consumed the queued reply
	resp, c, _ = post(t, context.Background(), url, chatBody, map[string]string{"Authorization": "Bearer sk-test"})
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "first", *c.Choices[0].Message.Content)
	// Azure-style key and path
	resp, _, _ = post(t, context.Background(), s.RootURL+"/openai/deployments/dep-1/chat/completions?api-version=2024-06-01",
		chatBody, map[string]string{"api-key": "sk-test"})
	require.Equal(t, 200, resp.StatusCode)

	reqs := s.Requests()
	require.Len(t, reqs, 7)
	require.Equal(t, "/openai/deployments/dep-1/chat/completions", reqs[6].Path)
	require.Equal(t, "2024-06-01", reqs[6].Query.Get("api-version"))
}

func TestDelayEndsWithTheClient(t *testing.T) {
	s := llmtest.NewServer(t)
	s.SetDefault(llmtest.Reply{Text: "late", Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/chat/completions", strings.NewReader(chatBody))
	require.NoError(t, err)
	start := time.Now()
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
	// t.Cleanup closes the server without waiting for the minute
}

func TestHangup(t *testing.T) {
	s := llmtest.NewServer(t)
	s.Enqueue(llmtest.Reply{Hangup: true})
	req, err := http.NewRequest(http.MethodPost, s.URL+"/chat/completions", strings.NewReader(chatBody))
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, io.EOF)
}
