package openai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vigil-ops/vigil/llm"
)

// maxRetryAfter caps the server's Retry-After, so that a bogus header cannot park a workflow.
const maxRetryAfter = 24 * time.Hour

// maxMessage caps the length of an error message taken from a response body.
const maxMessage = 500

// classify turns a CreateChatCompletion error into a *llm.ProviderError (or a wrapped
// context.Canceled when the caller gave up). ctx is the caller's context, callCtx the one
// bounded by the provider's timeout.
func (p *Provider) classify(ctx, callCtx context.Context, st *callState, err error) error {
	sent, status, header, bodyErr := st.snapshot()
	pe := &llm.ProviderError{Provider: p.name, StatusCode: status}

	// A failed HTTP status: go-openai returns *APIError for an OpenAI error body and
	// *RequestError for anything else (HTML from a proxy, empty body, ...).
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	switch {
	case errors.As(err, &apiErr):
		if apiErr.HTTPStatusCode != 0 {
			pe.StatusCode = apiErr.HTTPStatusCode
		}
		code := codeString(apiErr.Code)
		inner := ""
		if apiErr.InnerError != nil {
			inner = apiErr.InnerError.Code
		}
		msg := apiErr.Message
		if code != "" {
			msg = code + ": " + msg
		}
		return p.byStatus(pe, header, code, inner, msg)
	case errors.As(err, &reqErr):
		if reqErr.HTTPStatusCode != 0 {
			pe.StatusCode = reqErr.HTTPStatusCode
		}
		msg := strings.TrimSpace(string(reqErr.Body))
		if msg == "" {
			msg = reqErr.HTTPStatus
		}
		return p.byStatus(pe, header, "", "", msg)
	case isFailureStatus(pe.StatusCode):
		// e.g. the error body could not be read
		return p.byStatus(pe, header, "", "", err.Error())
	}

	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: %w", p.name, context.Canceled)
	}
	if !sent {
		// go-openai rejected the request before sending it (e.g. its reasoning-model checks).
		pe.Class, pe.Message = llm.ClassBadRequest, "request rejected by the client library: "+err.Error()
		return pe
	}
	if callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) || isTimeout(bodyErr) {
		pe.Class, pe.Retryable = llm.ClassTimeout, true
		pe.Message = fmt.Sprintf("no complete answer within %s: %v", p.timeout, err)
		if d, ok := ctx.Deadline(); ok && ctx.Err() != nil && time.Until(d) <= 0 {
			pe.Message = "the caller's deadline passed: " + err.Error()
		}
		return pe
	}
	if status == 0 {
		pe.Class, pe.Retryable, pe.Message = llm.ClassNetwork, true, err.Error()
		return pe
	}
	if bodyErr != nil {
		pe.Class, pe.Retryable = llm.ClassNetwork, true
		pe.Message = "reading the response body: " + bodyErr.Error()
		return pe
	}
	pe.Class, pe.Retryable = llm.ClassMalformed, true
	pe.Message = "the response body is not a valid chat completion: " + err.Error()
	return pe
}

// byStatus classifies a failed HTTP status.
func (p *Provider) byStatus(pe *llm.ProviderError, header http.Header, code, innerCode, msg string) error {
	pe.Message = truncate(msg)
	s := pe.StatusCode
	switch {
	case s == http.StatusTooManyRequests:
		pe.Class, pe.Retryable = llm.ClassRateLimited, true
		pe.RetryAfter = retryAfter(header, time.Now())
	case s >= 500:
		pe.Class, pe.Retryable = llm.ClassServerError, true
		pe.RetryAfter = retryAfter(header, time.Now())
	case s == http.StatusRequestTimeout:
		pe.Class, pe.Retryable = llm.ClassTimeout, true
		pe.RetryAfter = retryAfter(header, time.Now())
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		pe.Class = llm.ClassAuth
	case s == http.StatusNotFound:
		pe.Class = llm.ClassNotFound
	case s >= 400 && (code == "content_filter" || innerCode == "ResponsibleAIPolicyViolation"):
		// Azure rejects prompts caught by its content filter with 400 content_filter.
		pe.Class = llm.ClassRefusal
	case s >= 400 && isContextLength(code, msg):
		pe.Class = llm.ClassContextLength
	case s >= 400:
		pe.Class = llm.ClassBadRequest
	default:
		// 1xx answers are failures for go-openai; nothing usable came back.
		pe.Class, pe.Retryable = llm.ClassMalformed, true
	}
	return pe
}

// contextLengthPhrases are how OpenAI, vLLM, Anthropic's and Gemini's compatible endpoints say
// that the prompt does not fit the model.
var contextLengthPhrases = []string{
	"context_length_exceeded",
	"maximum context length",
	"context length exceeded",
	"exceeds the context window",
	"prompt is too long",
	"exceeds the maximum number of tokens",
}

func isContextLength(code, msg string) bool {
	if code == "context_length_exceeded" {
		return true
	}
	m := strings.ToLower(msg)
	for _, ph := range contextLengthPhrases {
		if strings.Contains(m, ph) {
			return true
		}
	}
	return false
}

func isFailureStatus(s int) bool { return s != 0 && (s < 200 || s >= 400) }

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}

func codeString(c any) string {
	switch v := c.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// retryAfter reads how long the server asks to wait: "retry-after-ms" (milliseconds, sent by
// OpenAI) first, then "Retry-After" as delay-seconds or an HTTP-date. It returns 0 when there
// is no usable value; the result is capped at maxRetryAfter.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, ok := parseDecimal(v); ok {
			return capDelay(ms / 1e3)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, ok := parseDecimal(v); ok {
		return capDelay(secs)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// parseDecimal accepts a plain non-negative decimal number ("3", "1.5"), nothing else.
func parseDecimal(v string) (float64, bool) {
	for _, r := range v {
		if (r < '0' || r > '9') && r != '.' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

func capDelay(secs float64) time.Duration {
	if secs >= maxRetryAfter.Seconds() {
		return maxRetryAfter
	}
	return time.Duration(secs * float64(time.Second))
}
