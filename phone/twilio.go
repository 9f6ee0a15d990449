package phone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/vigil-ops/vigil/httpretry"
)

// TwilioAPI is the base URL of Twilio's REST API.
const TwilioAPI = "https://api.twilio.com"

// DefaultTimeout bounds one call request when [TwilioConfig] gives no HTTP
// client.
// Shorter than the call activity's 30 s limit: a slow answer fails the request, not the
// activity mid-flight.
const DefaultTimeout = 20 * time.Second

// IdempotencyHeader carries [CallRequest.Key] on the create-call request.
const IdempotencyHeader = "I-Twilio-Idempotency-Token"

// StatusEvents are the call progress events [Twilio.Call] subscribes
// [CallRequest.StatusURL] to; busy, no-answer, failed and canceled arrive
// as the CallStatus of the completed event.
var StatusEvents = []string{"initiated", "ringing", "answered", "completed"}

// TwilioConfig configures the Twilio caller.
type TwilioConfig struct {
	// AccountSID is the Twilio account ("AC" + 32 hex digits).
	AccountSID string
	// AuthToken is the account's auth token; it also signs Twilio's
	// webhooks (see [ValidateSignature]).
	AuthToken string
	// From is the caller ID, E.164: a Twilio number of the account or a
	// verified caller ID.
	From string
	// BaseURL replaces Twilio's API (https://api.twilio.com) when set;
	// tests point it at a twiliotest server.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a
	// [DefaultTimeout] timeout that does not follow redirects.
	HTTPClient *http.Client
}

// Twilio places calls with Twilio's Calls API through twilio-go. It is
// safe for concurrent use.
type Twilio struct {
	sid, token, from string
	base             *url.URL // nil: Twilio's API
	http             *http.Client
}

var _ Caller = (*Twilio)(nil)

var (
	accountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	// twilio-go refuses credentials with other characters.
	alphanumeric = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// NewTwilio returns a Twilio caller after validating c: the account SID,
// the auth token, the From number (E.164) and BaseURL if set.
func NewTwilio(c TwilioConfig) (*Twilio, error) {
	if !accountSID.MatchString(c.AccountSID) {
		return nil, errors.New(`phone: twilio AccountSID must be "AC" followed by 32 hex digits`)
	}
	if !alphanumeric.MatchString(c.AuthToken) {
		return nil, errors.New("phone: twilio AuthToken is missing or has characters other than letters and digits")
	}
	if !IsE164(c.From) {
		return nil, fmt.Errorf("phone: twilio From %q is not an E.164 phone number", c.From)
	}
	t := &Twilio{sid: c.AccountSID, token: c.AuthToken, from: c.From, http: c.HTTPClient}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("phone: twilio BaseURL %q is not an http(s) URL without credentials, query or fragment", c.BaseURL)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		t.base = u
	}
	if t.http == nil {
		t.http = &http.Client{
			Timeout: DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return t, nil
}

// Call places one text-to-speech call from the configured number: Twilio
// plays [TwiML] for r and posts the pressed digit to r.AckURL and, when
// r.StatusURL is set, the [StatusEvents] to it.
//
// Exactly one HTTP request is sent: twilio-go does not retry and Call
// refuses a second round trip (a redirect, say); retrying is the caller's
// decision, guided by [Error.Retryable]. A retryable error after the
// request went out (a timeout waiting for the answer) may still have placed
// the call. r.Key is sent in the [IdempotencyHeader] header (keys that are
// not printable ASCII of at most 255 bytes as "sha256-" and their hex
// digest), but Twilio does not document deduplicating calls by it (it is the
// header Twilio itself puts on its webhooks): placing each call once is the
// caller's job, which Vigil does with one activity per escalation step and
// a store record of the placed call.
func (t *Twilio) Call(ctx context.Context, r CallRequest) (CallResult, error) {
	twiml, err := checkRequest(r)
	if err != nil {
		return CallResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return CallResult{}, &Error{Message: "call not placed: " + err.Error(), Retryable: true}
	}

	rest, tr := t.rest(ctx, idempotencyToken(r.Key))

	params := &openapi.CreateCallParams{}
	params.SetTo(r.To).SetFrom(t.from).SetTwiml(twiml)
	if r.StatusURL != "" {
		params.SetStatusCallback(r.StatusURL).
			SetStatusCallbackMethod(http.MethodPost).
			SetStatusCallbackEvent(slices.Clone(StatusEvents))
	}
	call, err := rest.Api.CreateCall(params)
	tr.finish()
	if err != nil {
		return CallResult{}, tr.classify(err)
	}
	if call.Sid == nil || *call.Sid == "" {
		return CallResult{}, &Error{Status: tr.status,
			Message: "Twilio accepted the call but its answer has no call SID"}
	}
	res := CallResult{SID: *call.Sid}
	if call.Status != nil {
		res.Status = *call.Status
	}
	return res, nil
}

// Hangup ends a call that is queued, ringing or in progress (Twilio: update the call with
// Status=completed), so that nobody keeps being rung for a page that is over. A call that has
// already ended is not an error.
func (t *Twilio) Hangup(ctx context.Context, callSID string) error {
	if !callSIDRE.MatchString(callSID) {
		return &Error{Message: fmt.Sprintf("%q is not a call SID", callSID)}
	}
	rest, tr := t.rest(ctx, "")
	params := &openapi.UpdateCallParams{}
	params.SetStatus("completed")
	_, err := rest.Api.UpdateCall(callSID, params)
	tr.finish()
	if err != nil {
		e := tr.classify(err)
		// Twilio answers 21220 ("call is not in-progress") for a call that has ended.
		if e.Code == 21220 {
			return nil
		}
		return e
	}
	return nil
}

// rest returns a twilio-go client whose one request goes through a callTransport bound to ctx
// (and carrying the idempotency key, when not empty).
func (t *Twilio) rest(ctx context.Context, key string) (*twilio.RestClient, *callTransport) {
	tr := &callTransport{ctx: ctx, next: t.http.Transport, base: t.base, key: key}
	if tr.next == nil {
		tr.next = http.DefaultTransport
	}
	hc := *t.http
	hc.Transport = tr
	c := &client.Client{Credentials: client.NewCredentials(t.sid, t.token), HTTPClient: &hc}
	c.SetAccountSid(t.sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{
		Username: t.sid, Password: t.token, AccountSid: t.sid, Client: c,
	}), tr
}

var callSIDRE = regexp.MustCompile(`^CA[0-9a-fA-F]{32}$`)

// callTransport sends the one request of a Call: it binds it to the
// caller's context (twilio-go uses context.Background), points it at
// BaseURL, adds the idempotency header and records the answer's status and
// header, which twilio-go's errors lack.
type callTransport struct {
	ctx  context.Context
	next http.RoundTripper
	base *url.URL
	key  string

	mu     sync.Mutex
	sent   bool
	target string // scheme://host requested, for messages
	status int
	header http.Header
	body   *releaseBody
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	if t.sent {
		t.mu.Unlock()
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("refusing to send the call request twice")
	}
	t.sent = true
	t.mu.Unlock()

	// Cancel the request when either the client (its timeout) or the
	// caller gives up; the body's Close releases both.
	rctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	release := func() { stop(); cancel(nil) }

	out := req.Clone(rctx)
	if t.base != nil {
		out.URL.Scheme = t.base.Scheme
		out.URL.Host = t.base.Host
		out.URL.Path = t.base.Path + out.URL.Path
		out.URL.RawPath = ""
		out.Host = ""
	}
	if t.key != "" {
		out.Header.Set(IdempotencyHeader, t.key)
	}
	t.mu.Lock()
	t.target = out.URL.Scheme + "://" + out.URL.Host
	t.mu.Unlock()

	resp, err := t.next.RoundTrip(out)
	if err != nil {
		release()
		return nil, err
	}
	body := &releaseBody{ReadCloser: resp.Body, release: release}
	resp.Body = body
	t.mu.Lock()
	t.status, t.header, t.body = resp.StatusCode, resp.Header, body
	t.mu.Unlock()
	return resp, nil
}

// finish closes the answer's body, which twilio-go leaves open on errors.
func (t *callTransport) finish() {
	t.mu.Lock()
	body := t.body
	t.mu.Unlock()
	if body != nil {
		_ = body.Close()
	}
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	var err error
	b.once.Do(func() {
		err = b.ReadCloser.Close()
		b.release()
	})
	return err
}

// classify turns an error of twilio-go's CreateCall into an *Error.
func (t *callTransport) classify(err error) *Error {
	t.mu.Lock()
	status, header, target := t.status, t.header, t.target
	t.mu.Unlock()

	var te *client.TwilioRestError
	switch {
	case errors.As(err, &te):
		e := &Error{Status: te.Status, Code: te.Code, Message: te.Message}
		if e.Status == 0 {
			e.Status = status
		}
		if e.Message == "" {
			e.Message = http.StatusText(e.Status)
		}
		if httpretry.RetryableStatus(e.Status) {
			e.Retryable = true
			e.RetryAfter = httpretry.RetryAfter(header)
		}
		return e
	case status >= 400:
		// An error answer that is not Twilio's JSON (a proxy's page).
		e := &Error{Status: status, Message: "unreadable error answer: " + err.Error()}
		if httpretry.RetryableStatus(status) {
			e.Retryable = true
			e.RetryAfter = httpretry.RetryAfter(header)
		}
		return e
	case status != 0:
		// Twilio answered, likely placing the call, but the answer could
		// not be read: retrying might call twice.
		return &Error{Status: status, Message: "Twilio's answer could not be read: " + err.Error()}
	}
	// No answer: a connection error or timeout.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL names the account; target says enough
	}
	msg := err.Error()
	if cerr := t.ctx.Err(); cerr != nil && !strings.Contains(msg, cerr.Error()) {
		msg = fmt.Sprintf("%v (%v)", cerr, msg)
	}
	if target == "" {
		target = TwilioAPI
	}
	return &Error{Message: "POST " + target + ": " + msg, Retryable: true}
}

// idempotencyToken returns the header value for key: key itself when it is
// printable ASCII of at most 255 bytes, else a digest of it.
func idempotencyToken(key string) string {
	if key == "" {
		return ""
	}
	ok := len(key) <= 255
	for i := 0; ok && i < len(key); i++ {
		ok = key[i] >= 0x20 && key[i] < 0x7f
	}
	if ok {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256-" + hex.EncodeToString(sum[:])
}
