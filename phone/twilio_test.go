package phone_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vigil-ops/vigil/phone"
	"github.com/vigil-ops/vigil/phone/twiliotest"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testFrom  = "+15550009999"
)

func newTwilio(t *testing.T, baseURL, token string) *phone.Twilio {
	t.Helper()
	tw, err := phone.NewTwilio(phone.TwilioConfig{AccountSID: testSID, AuthToken: token, From: testFrom, BaseURL: baseURL})
	require.NoError(t, err)
	return tw
}

func testRequest() phone.CallRequest {
	return phone.CallRequest{
		To:        "+15551230001",
		Message:   "Critical: checkout-api is down.",
		Language:  "en-US",
		AckURL:    "https://vigil.example.com/phone/ack?wf=incident-42&step=1",
		StatusURL: "https://vigil.example.com/phone/status?wf=incident-42",
		Key:       "incident-42/page-1",
	}
}

// asError returns err as a *phone.Error, failing the test otherwise.
func asError(t *testing.T, err error) *phone.Error {
	t.Helper()
	require.Error(t, err)
	var pe *phone.Error
	require.True(t, errors.As(err, &pe), "error %T: %v", err, err)
	return pe
}

func TestTwilioCallPlacesCallThroughTwilioGo(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	tw := newTwilio(t, srv.URL, testToken)
	req := testRequest()

	res, err := tw.Call(context.Background(), req)
	require.NoError(t, err)
	require.Regexp(t, `^CA[0-9a-f]{32}$`, res.SID)
	require.Equal(t, "queued", res.Status)

	calls := srv.Calls()
	require.Len(t, calls, 1)
	c := calls[0]
	require.Equal(t, res.SID, c.SID)
	require.Equal(t, req.To, c.To)
	require.Equal(t, testFrom, c.From)
	require.Equal(t, phone.TwiML(req.Message, req.Language, req.AckURL), c.Twiml)
	require.Equal(t, req.StatusURL, c.StatusCallback)
	require.Equal(t, []string{"initiated", "ringing", "answered", "completed"}, c.StatusCallbackEvents)
	require.Equal(t, "POST", c.Form.Get("StatusCallbackMethod"))
	require.Equal(t, req.Key, c.IdempotencyKey)
	require.WithinDuration(t, time.Now(), c.At, time.Minute)
}

func TestTwilioCallWithoutStatusURLOrKey(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	tw := newTwilio(t, srv.URL, testToken)
	req := testRequest()
	req.StatusURL, req.Key, req.Language = "", "", ""

	_, err := tw.Call(context.Background(), req)
	require.NoError(t, err)
	c := srv.Calls()[0]
	require.Empty(t, c.StatusCallback)
	require.Empty(t, c.StatusCallbackEvents)
	require.Empty(t, c.IdempotencyKey)
	require.Contains(t, c.Twiml, `language="en-US"`)
}

func TestTwilioCallNonASCIIKeyIsDigested(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	tw := newTwilio(t, srv.URL, testToken)
	req := testRequest()
	req.Key = "장애-42/1"

	_, err := tw.Call(context.Background(), req)
	require.NoError(t, err)
	require.Regexp(t, `^sha256-[0-9a-f]{64}$`, srv.Calls()[0].IdempotencyKey)
}

func TestTwilioCallBadNumberIsPermanent(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	tw := newTwilio(t, srv.URL, testToken)

	// Refused by Twilio (well-formed but invalid).
	req := testRequest()
	req.To = twiliotest.InvalidNumber
	_, err := tw.Call(context.Background(), req)
	pe := asError(t, err)
	require.False(t, pe.Retryable)
	require.Equal(t, http.StatusBadRequest, pe.Status)
	require.Equal(t, 21211, pe.Code)
	require.Contains(t, pe.Message, "Invalid 'To' Phone Number")
	require.Contains(t, err.Error(), "(permanent)")

	// Refused before sending (not E.164).
	req.To = "555-1234"
	_, err = tw.Call(context.Background(), req)
	pe = asError(t, err)
	require.False(t, pe.Retryable)
	require.Zero(t, pe.Status)
	require.Empty(t, srv.Calls())
}

func TestTwilioCallServerErrorsAreRetryable(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := twiliotest.New(t, testSID, testToken)
			tw := newTwilio(t, srv.URL, testToken)
			srv.FailNext(1, status)

			_, err := tw.Call(context.Background(), testRequest())
			pe := asError(t, err)
			require.True(t, pe.Retryable)
			require.Equal(t, status, pe.Status)
			require.Equal(t, 20000+status, pe.Code)
			require.Contains(t, err.Error(), "retryable")

			// The retry succeeds.
			res, err := tw.Call(context.Background(), testRequest())
			require.NoError(t, err)
			require.NotEmpty(t, res.SID)
			require.Len(t, srv.Calls(), 1)
		})
	}
}

func TestTwilioCallAuthFailureIsPermanent(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	tw := newTwilio(t, srv.URL, "ffffffffffffffffffffffffffffffff")

	_, err := tw.Call(context.Background(), testRequest())
	pe := asError(t, err)
	require.False(t, pe.Retryable)
	require.Equal(t, http.StatusUnauthorized, pe.Status)
	require.Equal(t, 20003, pe.Code)
	require.NotContains(t, err.Error(), "ffffffffffffffffffffffffffffffff")
	require.Empty(t, srv.Calls())
}

// rawServer answers every request with status, header and body, and counts
// the requests.
func rawServer(t *testing.T, status int, header map[string]string, body string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestTwilioCallRetryAfterAndNonJSONErrors(t *testing.T) {
	srv, n := rawServer(t, http.StatusTooManyRequests, map[string]string{"Retry-After": "7"},
		`{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`)
	_, err := newTwilio(t, srv.URL, testToken).Call(context.Background(), testRequest())
	pe := asError(t, err)
	require.True(t, pe.Retryable)
	require.Equal(t, 7*time.Second, pe.RetryAfter)
	require.Equal(t, 20429, pe.Code)
	require.Equal(t, 1, *n, "exactly one request, no library retries")

	srv, n = rawServer(t, http.StatusBadGateway, nil, "<html>Bad Gateway</html>")
	_, err = newTwilio(t, srv.URL, testToken).Call(context.Background(), testRequest())
	pe = asError(t, err)
	require.True(t, pe.Retryable)
	require.Equal(t, http.StatusBadGateway, pe.Status)
	require.Equal(t, 1, *n)

	srv, _ = rawServer(t, http.StatusForbidden, nil, "nope")
	_, err = newTwilio(t, srv.URL, testToken).Call(context.Background(), testRequest())
	pe = asError(t, err)
	require.False(t, pe.Retryable)
	require.Equal(t, http.StatusForbidden, pe.Status)

	// Accepted but unreadable: the call may be placed, so not retryable.
	srv, _ = rawServer(t, http.StatusCreated, nil, "not json")
	_, err = newTwilio(t, srv.URL, testToken).Call(context.Background(), testRequest())
	pe = asError(t, err)
	require.False(t, pe.Retryable)
	require.Equal(t, http.StatusCreated, pe.Status)
}

func TestTwilioCallSendsOneRequestEvenWhenRedirected(t *testing.T) {
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	// A client that follows redirects would repeat the POST.
	tw, err := phone.NewTwilio(phone.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom,
		BaseURL: srv.URL, HTTPClient: &http.Client{}})
	require.NoError(t, err)
	_, err = tw.Call(context.Background(), testRequest())
	pe := asError(t, err)
	require.False(t, pe.Retryable)
	require.Contains(t, pe.Message, "twice")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, n)
}

func TestTwilioCallTransportErrorsAreRetryable(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err := newTwilio(t, closed.URL, testToken).Call(context.Background(), testRequest())
	pe := asError(t, err)
	require.True(t, pe.Retryable)
	require.Zero(t, pe.Status)
	require.NotContains(t, pe.Message, testSID, "the message names the host, not the URL")

	// A server that does not answer: the caller's deadline ends the call.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = newTwilio(t, hang.URL, testToken).Call(ctx, testRequest())
	pe = asError(t, err)
	require.True(t, pe.Retryable)
	require.Contains(t, pe.Message, "deadline exceeded")
	require.Less(t, time.Since(start), 5*time.Second)

	// An HTTP client timeout works too.
	tw, err := phone.NewTwilio(phone.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom,
		BaseURL: hang.URL, HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
	require.NoError(t, err)
	_, err = tw.Call(context.Background(), testRequest())
	require.True(t, asError(t, err).Retryable)

	// A context that is already done sends nothing.
	srv := twiliotest.New(t, testSID, testToken)
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = newTwilio(t, srv.URL, testToken).Call(ctx, testRequest())
	require.True(t, asError(t, err).Retryable)
	require.Empty(t, srv.Calls())
}

func TestTwilioCallInvalidRequestIsPermanent(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	tw := newTwilio(t, srv.URL, testToken)
	for name, edit := range map[string]func(*phone.CallRequest){
		"no To":            func(r *phone.CallRequest) { r.To = "" },
		"To not E.164":     func(r *phone.CallRequest) { r.To = "+0123" },
		"no message":       func(r *phone.CallRequest) { r.Message = "  " },
		"bad language":     func(r *phone.CallRequest) { r.Language = "en US" },
		"no AckURL":        func(r *phone.CallRequest) { r.AckURL = "" },
		"relative AckURL":  func(r *phone.CallRequest) { r.AckURL = "/phone/ack" },
		"bad StatusURL":    func(r *phone.CallRequest) { r.StatusURL = "ftp://x/y" },
		"too long message": func(r *phone.CallRequest) { r.Message = strings.Repeat("장애 ", 700) },
	} {
		t.Run(name, func(t *testing.T) {
			r := testRequest()
			edit(&r)
			_, err := tw.Call(context.Background(), r)
			pe := asError(t, err)
			require.False(t, pe.Retryable)
			require.Zero(t, pe.Status)
		})
	}
	require.Empty(t, srv.Calls())
}

func TestNewTwilioValidatesConfig(t *testing.T) {
	good := phone.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	_, err := phone.NewTwilio(good)
	require.NoError(t, err)
	for name, edit := range map[string]func(*phone.TwilioConfig){
		"no SID":            func(c *phone.TwilioConfig) { c.AccountSID = "" },
		"SID not AC":        func(c *phone.TwilioConfig) { c.AccountSID = "SK0123456789abcdef0123456789abcdef" },
		"SID short":         func(c *phone.TwilioConfig) { c.AccountSID = "AC0123" },
		"no token":          func(c *phone.TwilioConfig) { c.AuthToken = "" },
		"token punctuation": func(c *phone.TwilioConfig) { c.AuthToken = "abc:def" },
		"no From":           func(c *phone.TwilioConfig) { c.From = "" },
		"From not E.164":    func(c *phone.TwilioConfig) { c.From = "5550009999" },
		"BaseURL relative":  func(c *phone.TwilioConfig) { c.BaseURL = "/twilio" },
		"BaseURL scheme":    func(c *phone.TwilioConfig) { c.BaseURL = "ftp://example.com" },
		"BaseURL query":     func(c *phone.TwilioConfig) { c.BaseURL = "https://example.com/?a=1" },
		"BaseURL user":      func(c *phone.TwilioConfig) { c.BaseURL = "https://u:p@example.com" },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			edit(&c)
			_, err := phone.NewTwilio(c)
			require.Error(t, err)
			require.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestTwilioBaseURLWithPathPrefix(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	var path string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		u, _ := url.Parse(srv.URL)
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/twilio")
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	_, err := newTwilio(t, proxy.URL+"/twilio/", testToken).Call(context.Background(), testRequest())
	require.NoError(t, err)
	require.Equal(t, "/twilio/2010-04-01/Accounts/"+testSID+"/Calls.json", path)
}

// twimlDoc is the shape of [phone.TwiML]'s document.
type twimlDoc struct {
	XMLName xml.Name `xml:"Response"`
	Gather  struct {
		NumDigits string `xml:"numDigits,attr"`
		Action    string `xml:"action,attr"`
		Method    string `xml:"method,attr"`
		Timeout   string `xml:"timeout,attr"`
		Say       struct {
			Language string `xml:"language,attr"`
			Text     string `xml:",chardata"`
		} `xml:"Say"`
	} `xml:"Gather"`
	Say []struct {
		Language string `xml:"language,attr"`
		Text     string `xml:",chardata"`
	} `xml:"Say"`
}

// twimlGathers is the TwiML's <Gather> elements, in order.
type twimlGathers struct {
	Gather []struct {
		Action string `xml:"action,attr"`
		Say    struct {
			Text string `xml:",chardata"`
		} `xml:"Say"`
	} `xml:"Gather"`
}

func TestTwiMLEscapesMessageAndURL(t *testing.T) {
	msg := `디스크 사용률 95% <sda1> & "quotes" 'apos'`
	ack := `https://vigil.example.com/ack?wf=a&step="1"`
	doc := phone.TwiML(msg, "ko-KR", ack)

	require.True(t, strings.HasPrefix(doc, `<Response><Gather numDigits="1" action="https://vigil.example.com/ack?wf=a&amp;step=&#34;1&#34;" method="POST" timeout="10"><Say language="ko-KR">`), doc)
	require.Contains(t, doc, `디스크 사용률 95% &lt;sda1&gt; &amp; &#34;quotes&#34; &#39;apos&#39;`)
	require.NotContains(t, doc, "<sda1>")

	var d twimlDoc
	require.NoError(t, xml.Unmarshal([]byte(doc), &d))
	require.Equal(t, "1", d.Gather.NumDigits)
	require.Equal(t, ack, d.Gather.Action)
	require.Equal(t, "POST", d.Gather.Method)
	require.Equal(t, "10", d.Gather.Timeout)
	require.Equal(t, "ko-KR", d.Gather.Say.Language)
	require.Equal(t, msg+". Press 1 to acknowledge.", d.Gather.Say.Text)
	require.Empty(t, d.Say, "every prompt is inside a <Gather>")
	var g twimlGathers
	require.NoError(t, xml.Unmarshal([]byte(doc), &g))
	require.Len(t, g.Gather, 2, "the prompt again when nothing is pressed, pressing 1 still counts")
	require.Equal(t, ack, g.Gather[1].Action)
	require.Equal(t, msg+". Press 1 to acknowledge.", g.Gather[1].Say.Text)
}

func TestTwiMLDefaultsAndPunctuation(t *testing.T) {
	require.Equal(t,
		`<Response>`+strings.Repeat(`<Gather numDigits="1" action="https://x.example/ack" method="POST" timeout="10"><Say language="en-US">Disk full. Press 1 to acknowledge.</Say></Gather>`, 2)+`</Response>`,
		phone.TwiML(" Disk full. ", "", "https://x.example/ack"))
	require.Contains(t, phone.TwiML("Is it down?", "", "https://x.example/ack"), ">Is it down? Press 1")
	require.Contains(t, phone.TwiML("Down", "", "https://x.example/ack"), ">Down. Press 1")
}

func TestAcknowledged(t *testing.T) {
	require.True(t, phone.Acknowledged(url.Values{"Digits": {"1"}}))
	require.False(t, phone.Acknowledged(url.Values{"Digits": {"2"}}))
	require.False(t, phone.Acknowledged(url.Values{"Digits": {""}}))
	require.False(t, phone.Acknowledged(url.Values{"CallStatus": {"in-progress"}}))
	require.False(t, phone.Acknowledged(nil))
}

func TestValidateSignature(t *testing.T) {
	const u = "https://vigil.example.com/phone/ack?wf=incident-42&step=1"
	form := url.Values{"CallSid": {"CA" + strings.Repeat("0", 32)}, "Digits": {"1"}, "From": {testFrom}, "To": {"+15551230001"}}
	sig := twiliotest.Sign(testToken, u, form)

	require.True(t, phone.ValidateSignature(testToken, u, form, sig))
	// Twilio may sign with or without the default port.
	require.True(t, phone.ValidateSignature(testToken, "https://vigil.example.com:443/phone/ack?wf=incident-42&step=1", form, sig))

	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("Digits", "2")
	require.False(t, phone.ValidateSignature(testToken, u, tampered, sig))
	require.False(t, phone.ValidateSignature(testToken, u+"&x=1", form, sig))
	require.False(t, phone.ValidateSignature("ffffffffffffffffffffffffffffffff", u, form, sig))
	require.False(t, phone.ValidateSignature(testToken, u, form, ""))
	require.False(t, phone.ValidateSignature("", u, form, twiliotest.Sign("", u, form)), "an empty token never validates")
}

// webhook is an app endpoint that checks Twilio's signature and records
// the forms it accepted.
type webhook struct {
	token string
	mu    sync.Mutex
	forms []url.Values
	srv   *httptest.Server
}

func newWebhook(t *testing.T, token string) *webhook {
	h := &webhook{token: token}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		full := "http://" + r.Host + r.URL.RequestURI()
		h.mu.Lock()
		token := h.token
		h.mu.Unlock()
		if !phone.ValidateSignature(token, full, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		h.mu.Lock()
		h.forms = append(h.forms, r.PostForm)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, "<Response/>")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhook) last() url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.forms[len(h.forms)-1]
}

func TestAnswerAndStatusReachSignedHandlers(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	app := newWebhook(t, testToken)
	req := testRequest()
	req.AckURL = app.srv.URL + "/phone/ack?wf=incident-42&step=1"
	req.StatusURL = app.srv.URL + "/phone/status?wf=incident-42"
	res, err := newTwilio(t, srv.URL, testToken).Call(context.Background(), req)
	require.NoError(t, err)

	code, err := srv.Answer(res.SID, "2")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.False(t, phone.Acknowledged(app.last()))

	code, err = srv.Answer(res.SID, "1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	f := app.last()
	require.True(t, phone.Acknowledged(f))
	require.Equal(t, res.SID, f.Get("CallSid"))
	require.Equal(t, testSID, f.Get("AccountSid"))
	require.Equal(t, req.To, f.Get("To"))
	require.Equal(t, testFrom, f.Get("From"))
	require.Equal(t, "in-progress", f.Get("CallStatus"))

	code, err = srv.Status(res.SID, "no-answer")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "no-answer", app.last().Get("CallStatus"))

	// An app with another token refuses Twilio's signature.
	app.mu.Lock()
	app.token = "ffffffffffffffffffffffffffffffff"
	app.mu.Unlock()
	code, err = srv.Answer(res.SID, "1")
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, code)
}

func TestTwilioHangup(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	tw := newTwilio(t, srv.URL, testToken)
	res, err := tw.Call(context.Background(), testRequest())
	require.NoError(t, err)
	require.NoError(t, tw.Hangup(context.Background(), res.SID))
	require.Equal(t, []string{res.SID}, srv.HungUp())

	err = tw.Hangup(context.Background(), "CA"+strings.Repeat("0", 32)) // unknown call
	var pe *phone.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 404, pe.Status)
	require.False(t, pe.Retryable)
	require.ErrorAs(t, tw.Hangup(context.Background(), "not-a-sid"), &pe)
}
