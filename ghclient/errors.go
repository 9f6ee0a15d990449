package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/vigil-ops/vigil/httpretry"
)

// Error is a failed GitHub call. Retryable says whether trying again later
// may succeed: 408, 425, 429, 5xx, rate limits (403 with
// X-RateLimit-Remaining: 0, secondary rate limits) and transport errors
// are; other 4xx (bad credentials, not found, validation) and invalid
// arguments are not.
type Error struct {
	// Status is the HTTP status of GitHub's answer, or 0 when there was
	// none (connection error, invalid argument).
	Status int
	// Message says what was being done and what went wrong.
	Message string
	// Retryable says whether trying again later may succeed.
	Retryable bool
	// RetryAfter is the wait GitHub asked for (Retry-After, or until
	// X-RateLimit-Reset when rate limited), or 0 when it did not say.
	RetryAfter time.Duration

	err error // the underlying error, for errors.Is/As
}

// Error describes the failure and whether it is retryable.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ghclient: ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	b.WriteString(e.Message)
	if e.Retryable {
		b.WriteString(" (retryable")
		if e.RetryAfter > 0 {
			b.WriteString(", retry after " + e.RetryAfter.String())
		}
		b.WriteString(")")
	} else {
		b.WriteString(" (permanent)")
	}
	return b.String()
}

// Unwrap returns the underlying error (go-github's, a transport error or
// a context error), or nil.
func (e *Error) Unwrap() error { return e.err }

func invalid(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// statusOf returns the HTTP status of a go-github API error, or 0.
func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// classify turns an error of a go-github call made for op into an *Error.
func classify(op string, err error) *Error {
	var (
		rl  *github.RateLimitError
		ab  *github.AbuseRateLimitError
		er  *github.ErrorResponse
		own *Error
	)
	switch {
	case errors.As(err, &own):
		return own
	case errors.As(err, &rl):
		e := &Error{Status: http.StatusForbidden, Message: op + ": " + nonEmpty(rl.Message, "API rate limit exceeded"), Retryable: true, err: err}
		if rl.Response != nil {
			e.Status = rl.Response.StatusCode
			e.RetryAfter = httpretry.RetryAfter(rl.Response.Header)
		}
		if e.RetryAfter == 0 && !rl.Rate.Reset.IsZero() {
			e.RetryAfter = httpretry.Until(rl.Rate.Reset.Time)
		}
		return e
	case errors.As(err, &ab):
		e := &Error{Status: http.StatusForbidden, Message: op + ": " + nonEmpty(ab.Message, "secondary rate limit exceeded"), Retryable: true, err: err}
		if ab.Response != nil {
			e.Status = ab.Response.StatusCode
		}
		if ab.RetryAfter != nil && *ab.RetryAfter > 0 {
			e.RetryAfter = ab.RetryAfter.Round(time.Second)
		}
		return e
	case errors.As(err, &er) && er.Response != nil:
		status := er.Response.StatusCode
		e := &Error{Status: status, Message: op + ": " + describe(er), err: err}
		h := er.Response.Header
		rateLimited := (status == http.StatusForbidden || status == http.StatusTooManyRequests) && h.Get("X-RateLimit-Remaining") == "0"
		if httpretry.RetryableStatus(status) || rateLimited {
			e.Retryable = true
			e.RetryAfter = httpretry.RetryAfter(h)
			if e.RetryAfter == 0 && rateLimited {
				if n, perr := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
					e.RetryAfter = httpretry.Until(time.Unix(n, 0))
				}
			}
		}
		return e
	case errors.Is(err, github.ErrPathForbidden):
		return &Error{Message: op + ": " + err.Error(), err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Message: op + ": " + err.Error(), err: err}
	}
	// No (readable) answer: a connection error, a timeout or a garbled body.
	// Every call of this package is safe to repeat.
	return &Error{Message: op + ": " + err.Error(), Retryable: true, err: err}
}

// describe is GitHub's message with the details of its errors list.
func describe(er *github.ErrorResponse) string {
	msg := nonEmpty(er.Message, http.StatusText(er.Response.StatusCode))
	var details []string
	for _, d := range er.Errors {
		switch {
		case d.Message != "":
			details = append(details, d.Message)
		case d.Code != "":
			details = append(details, strings.TrimSpace(d.Resource+" "+d.Field+" "+d.Code))
		}
	}
	if len(details) > 0 {
		msg += ": " + strings.Join(details, "; ")
	}
	return msg
}

func nonEmpty(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}
