package httpretry

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryAfter(t *testing.T) {
	h := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	require.Equal(t, 30*time.Second, RetryAfter(h("30")))
	require.Equal(t, time.Duration(0), RetryAfter(h("")))
	require.Equal(t, time.Duration(0), RetryAfter(h("soon")))
	require.Equal(t, time.Duration(0), RetryAfter(h("-3")))
	d := RetryAfter(h(time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)))
	require.True(t, d >= 89*time.Second && d <= 91*time.Second, d)
	require.Equal(t, time.Duration(0), RetryAfter(h(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))))
}

func TestRetryableStatus(t *testing.T) {
	for _, s := range []int{408, 425, 429, 500, 502, 503} {
		require.True(t, RetryableStatus(s), s)
	}
	for _, s := range []int{200, 400, 401, 403, 404, 409, 422} {
		require.False(t, RetryableStatus(s), s)
	}
}
