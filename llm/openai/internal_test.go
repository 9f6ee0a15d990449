package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "20"}, 20 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond},
		{"spaces", map[string]string{"Retry-After": " 4 "}, 4 * time.Second},
		{"zero", map[string]string{"Retry-After": "0"}, 0},
		{"negative", map[string]string{"Retry-After": "-5"}, 0},
		{"not a number", map[string]string{"Retry-After": "1e3"}, 0},
		{"http-date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"rfc850 date", map[string]string{"Retry-After": now.Add(time.Minute).Format(time.RFC850)}, time.Minute},
		{"past date", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"garbage", map[string]string{"Retry-After": "tomorrow"}, 0},
		{"ms first", map[string]string{"Retry-After-Ms": "250", "Retry-After": "1"}, 250 * time.Millisecond},
		{"bad ms falls back", map[string]string{"Retry-After-Ms": "x", "Retry-After": "1"}, time.Second},
		{"capped", map[string]string{"Retry-After": "99999999999"}, maxRetryAfter},
		{"capped date", map[string]string{"Retry-After": now.Add(100 * 24 * time.Hour).Format(http.TimeFormat)}, maxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			require.Equal(t, tc.want, retryAfter(h, now))
		})
	}
}

func TestInsertZeroKeys(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"model":"m","stream":false}`, `{"temperature":0,"top_p":0,"model":"m","stream":false}`},
		{`{}`, `{"temperature":0,"top_p":0}`},
		{" \n{ }", `{"temperature":0,"top_p":0}`},
	} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://x/v1/chat/completions", bytes.NewBufferString(tc.in))
		require.NoError(t, err)
		out, err := insertZeroKeys(req, []string{"temperature", "top_p"})
		require.NoError(t, err)
		got, err := io.ReadAll(out.Body)
		require.NoError(t, err)
		require.Equal(t, tc.want, string(got))
		require.True(t, json.Valid(got))
		require.Equal(t, int64(len(got)), out.ContentLength)
		again, err := out.GetBody()
		require.NoError(t, err)
		b, _ := io.ReadAll(again)
		require.Equal(t, tc.want, string(b))
	}
	req, _ := http.NewRequest(http.MethodPost, "http://x", bytes.NewBufferString(`[1]`))
	_, err := insertZeroKeys(req, []string{"temperature"})
	require.Error(t, err)
}
