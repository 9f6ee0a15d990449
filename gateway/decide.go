package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
)

// The decisions of a role call, shared by the two call paths: the workflow path (CallRole in
// workflows, the CallLink activity) and the synchronous path (Gateway.Invoke). Everything here is
// deterministic, so workflow code may call it.

// Error types of a failed link attempt; the chain walk decides from them what comes next.
const (
	// ErrTypeRejected: the provider refused the request for good (400/401/403/404, content
	// refusal, unknown provider). Not retried; the chain moves to the next link.
	ErrTypeRejected = "ProviderRejected"
	// ErrTypeUnavailable: 429, 5xx, timeouts, malformed bodies. Retried with backoff (or after
	// the provider's Retry-After), then the next link.
	ErrTypeUnavailable = "ProviderUnavailable"
	// ErrTypeBadAnswer: the answer broke the role's format or schema. Retried once, then the
	// next link.
	ErrTypeBadAnswer = "BadAnswer"
	// ErrTypeBudget: the model's shared rate budget has no room yet; retried after the wait.
	ErrTypeBudget = "RateBudget"
)

// Retry policy of a link: the first retry waits InitialBackoff, each further one
// BackoffCoefficient times longer, at most MaxBackoff; a provider's Retry-After replaces the wait.
const (
	InitialBackoff     = time.Second
	BackoffCoefficient = 2.0
	MaxBackoff         = 30 * time.Second
	// DefaultAttempts is a link's attempts when the role does not say.
	DefaultAttempts = 3
	// DefaultLinkTimeout bounds one attempt when the link does not say.
	DefaultLinkTimeout = 60 * time.Second
	// BadAnswerAttempts is how many answers that break the role's format a link gets.
	BadAnswerAttempts = 2
)

// MaxAttempts is how many times a link is tried.
func MaxAttempts(l roles.Link) int {
	if l.Attempts <= 0 {
		return DefaultAttempts
	}
	return l.Attempts
}

// LinkTimeout bounds one attempt of a link.
func LinkTimeout(l roles.Link) time.Duration {
	if t := l.Timeout.D(); t > 0 {
		return t
	}
	return DefaultLinkTimeout
}

// Backoff is the wait after failed attempt number attempt (1-based) when the provider named
// none: 1 s, 2 s, 4 s, ... at most 30 s — what Temporal's retry policy of the link activity
// (InitialBackoff, BackoffCoefficient, MaxBackoff) waits too.
func Backoff(attempt int) time.Duration {
	d := InitialBackoff
	for i := 1; i < attempt && d < MaxBackoff; i++ {
		d = time.Duration(float64(d) * BackoffCoefficient)
	}
	return min(d, MaxBackoff)
}

// RetryWait is the wait before the attempt after attempt: the provider's Retry-After when it
// gave one, else Backoff.
func RetryWait(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	return Backoff(attempt)
}

// Retry says whether a link gets another attempt after failed attempt number attempt.
func Retry(retryable bool, attempt, maxAttempts int) bool {
	return retryable && attempt < maxAttempts
}

// Failure is a classified failure of one link attempt.
type Failure struct {
	// Type is one of the ErrType* constants.
	Type string
	// Class names the failure in the usage log (llm.Class*, "bad_answer", ...).
	Class string
	// Retryable says whether the same link may be tried again.
	Retryable bool
	// RetryAfter is the provider's (or the budget's) requested wait; 0 = the backoff.
	RetryAfter time.Duration
	// Err is the failure itself.
	Err error
}

func (f Failure) Error() string { return f.Err.Error() }
func (f Failure) Unwrap() error { return f.Err }

// Classify decides what a failed attempt means: 429, 5xx, timeouts, network failures and
// malformed bodies are retryable (honouring Retry-After); other 4xx, refusals and unknown
// providers are not; an answer that breaks the role's format is retried once (attempt 1 → 2),
// then the chain moves on.
func Classify(err error, attempt int) Failure {
	f := Failure{Err: err, Class: ErrorClass(err)}
	var bad BadAnswerError
	var pe *llm.ProviderError
	var be *BudgetError
	switch {
	case errors.As(err, &bad):
		f.Type, f.Retryable = ErrTypeBadAnswer, attempt < BadAnswerAttempts
	case errors.As(err, &be):
		f.Type, f.Retryable, f.RetryAfter = ErrTypeBudget, true, be.Wait
	case errors.Is(err, llm.ErrBuiltinUnsupported), errors.Is(err, llm.ErrUnknownProvider):
		f.Type = ErrTypeRejected
	case errors.As(err, &pe):
		if pe.Retryable {
			f.Type, f.Retryable, f.RetryAfter = ErrTypeUnavailable, true, pe.RetryAfter
		} else {
			f.Type = ErrTypeRejected
		}
	default:
		f.Type, f.Retryable = ErrTypeUnavailable, true
	}
	return f
}

// ErrorClass names a failure for the usage log.
func ErrorClass(err error) string {
	var pe *llm.ProviderError
	var bad BadAnswerError
	var be *BudgetError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		return pe.Class
	case errors.As(err, &bad):
		return "bad_answer"
	case errors.As(err, &be):
		return "budget"
	case errors.Is(err, llm.ErrUnknownProvider):
		return "unknown_provider"
	case errors.Is(err, llm.ErrBuiltinUnsupported):
		return "unsupported"
	case errors.Is(err, context.DeadlineExceeded):
		return llm.ClassTimeout
	default:
		return "error"
	}
}

// BadAnswerError marks an answer that broke the role's format or schema.
type BadAnswerError struct{ Err error }

func (e BadAnswerError) Error() string { return "answer rejected: " + e.Err.Error() }
func (e BadAnswerError) Unwrap() error { return e.Err }

// BudgetError says a model's shared rate budget has no room for the call for Wait.
type BudgetError struct {
	Provider, Model string
	Wait            time.Duration
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%s/%s: rate budget exhausted, next slot in %s", e.Provider, e.Model, e.Wait.Round(time.Millisecond))
}

// CheckAnswer checks an answer against the role's response format and, when expect names one,
// the answer check of the task (analyst.TaskIncidentReport: the four-section report). A failure is a
// BadAnswerError.
func CheckAnswer(expect string, format roles.ResponseFormat, text string) error {
	if err := roles.ValidateAnswer(format, text); err != nil {
		return BadAnswerError{err}
	}
	switch expect {
	case "":
		return nil
	case analyst.TaskIncidentReport:
		if _, err := analyst.ParseReport(text); err != nil {
			return BadAnswerError{err}
		}
		return nil
	default:
		return BadAnswerError{fmt.Errorf("unknown answer check %q", expect)}
	}
}

// MergeParameters returns base with every parameter that over sets replaced.
func MergeParameters(base, over roles.Parameters) roles.Parameters {
	out := base
	if over.Temperature != nil {
		out.Temperature = over.Temperature
	}
	if over.TopP != nil {
		out.TopP = over.TopP
	}
	if over.MaxTokens != 0 {
		out.MaxTokens = over.MaxTokens
	}
	if over.PresencePenalty != nil {
		out.PresencePenalty = over.PresencePenalty
	}
	if over.FrequencyPenalty != nil {
		out.FrequencyPenalty = over.FrequencyPenalty
	}
	if over.Seed != nil {
		out.Seed = over.Seed
	}
	if len(over.Stop) > 0 {
		out.Stop = over.Stop
	}
	return out
}

// LinkParameters are the parameters a link sends: the role's, with the link's own on top.
func LinkParameters(r roles.Role, l roles.Link) roles.Parameters {
	if l.Parameters == nil {
		return r.Parameters
	}
	return MergeParameters(r.Parameters, *l.Parameters)
}
