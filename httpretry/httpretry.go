// Package httpretry classifies HTTP answers of the services Vigil calls (retry or stop, and when).
package httpretry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryableStatus reports whether an HTTP status may go away on retry: 408, 425, 429 and 5xx.
func RetryableStatus(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooEarly ||
		status == http.StatusTooManyRequests || status >= 500
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date); 0 when absent, malformed
// or past.
func RetryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return Until(t)
	}
	return 0
}

// Until is the time left until t, rounded up to a second (never retry early), or 0 if past.
func Until(t time.Time) time.Duration {
	d := time.Until(t)
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
