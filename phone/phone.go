package phone

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twilio/twilio-go/client"
)

// CallRequest asks for one text-to-speech call.
type CallRequest struct {
	// To is the number to call, E.164, e.g. "+15551230001".
	To string
	// Message is read aloud (TTS); plain text.
	Message string
	// Language is a BCP-47 tag like "en-US" or "ko-KR"; "" means "en-US".
	Language string
	// AckURL receives Twilio's <Gather> result: the person presses 1 to
	// acknowledge (see [Acknowledged]). Absolute URL.
	AckURL string
	// StatusURL receives Twilio's call status callbacks (initiated, ringing,
	// answered, completed; busy, no-answer, failed and canceled arrive as
	// the CallStatus of the completed event). Absolute URL; "" for none.
	StatusURL string
	// Key is the idempotency key of this call (workflow ID + step); see
	// [Twilio.Call].
	Key string
}

// CallResult is the provider's answer to a placed call.
type CallResult struct {
	// SID is the provider's call ID (Twilio: "CA" + 32 hex digits).
	SID string `json:"sid"`
	// Status is the call's status when placed: queued, ringing, ...
	Status string `json:"status"`
}

// Hanger ends calls in progress (a page acknowledged or over while someone's phone rings).
type Hanger interface {
	Hangup(ctx context.Context, callSID string) error
}

// Caller places calls.
type Caller interface {
	// Call places one call; failures are [*Error]s.
	Call(ctx context.Context, r CallRequest) (CallResult, error)
}

// Error is a failed call request. Retryable says whether trying again later
// may succeed (429, 5xx, timeouts, connection errors) or not (other 4xx: bad
// number, auth; an invalid request).
type Error struct {
	// Status is the HTTP status of the provider's answer, or 0 when there
	// was none (connection error, invalid request).
	Status int
	// Code is the provider's error code (Twilio: e.g. 21211 invalid To
	// number, 20003 authentication), or 0.
	Code int
	// Message says what went wrong.
	Message string
	// Retryable says whether trying again later may succeed.
	Retryable bool
	// RetryAfter is the wait the provider asked for (HTTP Retry-After), or
	// 0 when it did not say.
	RetryAfter time.Duration
}

// Error describes the failure and whether it is retryable.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("phone: ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, "error %d: ", e.Code)
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

func invalid(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// DefaultLanguage is the TTS language of a [CallRequest] without one.
const DefaultLanguage = "en-US"

// MaxTwiML is the longest TwiML Twilio accepts inline (the Twiml parameter
// of a call); [TwiML] repeats the message, so messages are limited to a
// little under half of it.
const MaxTwiML = 4000

var (
	e164    = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	langTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// IsE164 reports whether s is a phone number in E.164 form: "+", a
// country code not starting with 0, at most 15 digits in all.
func IsE164(s string) bool { return e164.MatchString(s) }

// TwiML returns the TwiML the call plays: the message (with a period
// unless it ends a sentence already) and "Press 1 to acknowledge." inside a one-digit <Gather> that posts to ackURL, then the
// message again for when nothing is pressed. language "" means
// [DefaultLanguage]. Text and attributes are XML-escaped; characters XML
// cannot carry become U+FFFD.
func TwiML(message, language, ackURL string) string {
	if language == "" {
		language = DefaultLanguage
	}
	message = strings.TrimSpace(message)
	prompt := message
	if r, _ := utf8.DecodeLastRuneInString(prompt); prompt != "" && !strings.ContainsRune(".!?。！？…", r) {
		prompt += "."
	}
	if prompt != "" {
		prompt += " "
	}
	prompt += "Press 1 to acknowledge."

	// The prompt plays twice, each time inside a <Gather>: pressing 1 during the repeat counts too.
	var b strings.Builder
	b.WriteString(`<Response>`)
	for range 2 {
		b.WriteString(`<Gather numDigits="1" action="`)
		escape(&b, ackURL)
		b.WriteString(`" method="POST" timeout="10"><Say language="`)
		escape(&b, language)
		b.WriteString(`">`)
		escape(&b, prompt)
		b.WriteString(`</Say></Gather>`)
	}
	b.WriteString(`</Response>`)
	return b.String()
}

func escape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a strings.Builder does not fail
}

// Acknowledged reports whether a <Gather> callback's form acknowledges the
// call: its Digits are "1".
func Acknowledged(form url.Values) bool {
	return form.Get("Digits") == "1"
}

// ValidateSignature checks Twilio's X-Twilio-Signature of a webhook request
// (base64 HMAC-SHA1, keyed with the auth token, of the full URL followed by
// the POST parameters sorted by name) with twilio-go's request validator.
// fullURL is the URL Twilio requested, as configured (scheme, host, path
// and query); form is the request's POST form. An empty token or signature
// never validates.
func ValidateSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

// checkRequest validates r and returns its TwiML.
func checkRequest(r CallRequest) (string, error) {
	if !IsE164(r.To) {
		return "", invalid("To %q is not an E.164 phone number", r.To)
	}
	if strings.TrimSpace(r.Message) == "" {
		return "", invalid("call to %s has no message", r.To)
	}
	if r.Language != "" && !langTag.MatchString(r.Language) {
		return "", invalid("language %q is not a BCP-47 tag", r.Language)
	}
	if err := checkURL("AckURL", r.AckURL); err != nil {
		return "", err
	}
	if r.StatusURL != "" {
		if err := checkURL("StatusURL", r.StatusURL); err != nil {
			return "", err
		}
	}
	twiml := TwiML(r.Message, r.Language, r.AckURL)
	if n := utf8.RuneCountInString(twiml); n > MaxTwiML {
		return "", invalid("the call's TwiML has %d characters, more than Twilio's %d; shorten the message", n, MaxTwiML)
	}
	return twiml, nil
}

func checkURL(name, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid("%s %q is not an absolute http(s) URL", name, s)
	}
	return nil
}
