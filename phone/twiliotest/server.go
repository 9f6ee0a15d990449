package twiliotest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a local Twilio: it serves the create-call endpoint of the REST
// API (POST /2010-04-01/Accounts/{AccountSid}/Calls.json, form-encoded,
// HTTP Basic auth) and sends the signed webhooks of a call's progress.
// Errors have Twilio's JSON body: 401 (code 20003) without the account's
// credentials, 400 (code 21211) for a To that is not E.164 or is
// [InvalidNumber], 400 (code 12100) for a Twiml that is not well-formed XML.
type Server struct {
	// URL is the server's base URL, for phone.TwilioConfig.BaseURL.
	URL string

	srv        *httptest.Server
	accountSID string
	authToken  string
	client     *http.Client

	mu       sync.Mutex
	calls    []Call
	failN    int
	failCode int
	seq      map[string]int // status callbacks sent per call
	hungUp   []string       // calls ended through the API, in order
}

// Call is a call placed on a [Server].
type Call struct {
	// SID is the call's ID ("CA" + 32 hex digits).
	SID string
	// To, From, Twiml and StatusCallback are the request's parameters.
	To, From, Twiml, StatusCallback string
	// StatusCallbackEvents are the request's StatusCallbackEvent values.
	StatusCallbackEvents []string
	// IdempotencyKey is the request's I-Twilio-Idempotency-Token header.
	IdempotencyKey string
	// Form is the whole request form.
	Form url.Values
	// At is when the call was placed.
	At time.Time
}

// New starts a Server for one account, closed when the test ends.
func New(t testing.TB, accountSID, authToken string) *Server {
	t.Helper()
	s := &Server{
		accountSID: accountSID,
		authToken:  authToken,
		client:     &http.Client{Timeout: 10 * time.Second},
		seq:        map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", s.createCall)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls/{call}", s.updateCall)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Calls returns every call placed so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	copy(out, s.calls)
	return out
}

// FailNext makes the next n create-call requests fail, before
// authentication is checked, with the given HTTP status and Twilio's JSON
// error body of code 20000+status (20429, 20503, ...).
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// InvalidNumber is a well-formed number the server refuses as invalid (400,
// code 21211), like Twilio's test number of the same value.
const InvalidNumber = "+15005550001"

func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.failN > 0 {
		s.failN--
		status := s.failCode
		s.mu.Unlock()
		writeError(w, status, 20000+status, http.StatusText(status))
		return
	}
	s.mu.Unlock()

	user, pass, ok := r.BasicAuth()
	if !ok || !equal(user, s.accountSID) || !equal(pass, s.authToken) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.PathValue("sid") != s.accountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "unreadable form: "+err.Error())
		return
	}
	f := r.PostForm
	to, from, twiml := f.Get("To"), f.Get("From"), f.Get("Twiml")
	switch {
	case !e164.MatchString(to) || to == InvalidNumber:
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", to))
		return
	case !e164.MatchString(from):
		writeError(w, http.StatusBadRequest, 21212, fmt.Sprintf("Invalid 'From' Phone Number: %s", from))
		return
	case twiml == "" && f.Get("Url") == "" && f.Get("ApplicationSid") == "":
		writeError(w, http.StatusBadRequest, 21205, "A 'Url', 'Twiml' or 'ApplicationSid' parameter is required.")
		return
	case twiml != "" && !wellFormed(twiml):
		writeError(w, http.StatusBadRequest, 12100, "Document parse failure: the Twiml parameter is not well-formed XML")
		return
	}

	now := time.Now().UTC()
	c := Call{
		SID: "CA" + randomHex(16), To: to, From: from, Twiml: twiml,
		StatusCallback:       f.Get("StatusCallback"),
		StatusCallbackEvents: f["StatusCallbackEvent"],
		IdempotencyKey:       r.Header.Get("I-Twilio-Idempotency-Token"),
		Form:                 f,
		At:                   now,
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()

	uri := "/2010-04-01/Accounts/" + s.accountSID + "/Calls/" + c.SID
	date := now.Format(time.RFC1123Z)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid": c.SID, "account_sid": s.accountSID, "to": to, "to_formatted": to,
		"from": from, "from_formatted": from, "status": "queued", "direction": "outbound-api",
		"api_version": "2010-04-01", "date_created": date, "date_updated": date,
		"start_time": nil, "end_time": nil, "duration": nil, "price": nil, "price_unit": "USD",
		"parent_call_sid": nil, "phone_number_sid": "PN" + randomHex(16), "answered_by": nil,
		"forwarded_from": nil, "group_sid": nil, "caller_name": nil, "queue_time": "0",
		"trunk_sid": nil, "uri": uri + ".json",
		"subresource_uris": map[string]string{
			"notifications": uri + "/Notifications.json",
			"recordings":    uri + "/Recordings.json",
			"events":        uri + "/Events.json",
		},
	})
}

// HungUp returns the SIDs of the calls ended through the API (Status=completed), in order.
func (s *Server) HungUp() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hungUp...)
}

// updateCall handles POST …/Calls/{CallSid}.json: Status=completed ends the call.
func (s *Server) updateCall(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || !equal(user, s.accountSID) || !equal(pass, s.authToken) {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	sid := strings.TrimSuffix(r.PathValue("call"), ".json")
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "unreadable form: "+err.Error())
		return
	}
	if _, err := s.call(sid); err != nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if st := r.PostForm.Get("Status"); st != "completed" && st != "canceled" {
		writeError(w, http.StatusBadRequest, 21218, "Invalid Status "+st)
		return
	}
	s.mu.Lock()
	s.hungUp = append(s.hungUp, sid)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "account_sid": s.accountSID, "status": "completed"})
}

// Answer simulates the callee answering and pressing digits: it sends the
// form Twilio sends to the <Gather action> URL of the call's TwiML, signed
// with X-Twilio-Signature, and returns the HTTP status the app answered.
func (s *Server) Answer(callSID, digits string) (int, error) {
	c, err := s.call(callSID)
	if err != nil {
		return 0, err
	}
	action, method, err := gatherAction(c.Twiml)
	if err != nil {
		return 0, fmt.Errorf("twiliotest: call %s: %w", callSID, err)
	}
	form := s.callForm(c, "in-progress")
	form.Set("Digits", digits)
	form.Set("FinishedOnKey", "")
	form.Set("msg", "Gather End")
	return s.send(method, action, form)
}

// Status simulates a status callback (e.g. "ringing", "no-answer",
// "completed") to the call's StatusCallback URL, signed with
// X-Twilio-Signature, and returns the HTTP status the app answered.
func (s *Server) Status(callSID, status string) (int, error) {
	c, err := s.call(callSID)
	if err != nil {
		return 0, err
	}
	if c.StatusCallback == "" {
		return 0, fmt.Errorf("twiliotest: call %s has no StatusCallback", callSID)
	}
	method := strings.ToUpper(c.Form.Get("StatusCallbackMethod"))
	if method == "" {
		method = http.MethodPost
	}
	s.mu.Lock()
	n := s.seq[callSID]
	s.seq[callSID] = n + 1
	s.mu.Unlock()
	form := s.callForm(c, status)
	form.Set("SequenceNumber", strconv.Itoa(n))
	form.Set("Timestamp", time.Now().UTC().Format(time.RFC1123Z))
	form.Set("CallbackSource", "call-progress-events")
	if status == "completed" {
		form.Set("CallDuration", "0")
	}
	return s.send(method, c.StatusCallback, form)
}

func (s *Server) call(sid string) (Call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.SID == sid {
			return c, nil
		}
	}
	return Call{}, fmt.Errorf("twiliotest: no call %s", sid)
}

// callForm is the form Twilio posts about call c.
func (s *Server) callForm(c Call, status string) url.Values {
	return url.Values{
		"AccountSid": {s.accountSID},
		"ApiVersion": {"2010-04-01"},
		"CallSid":    {c.SID},
		"CallStatus": {status},
		"Called":     {c.To},
		"Caller":     {c.From},
		"Direction":  {"outbound-api"},
		"From":       {c.From},
		"To":         {c.To},
	}
}

// send makes a signed webhook request, as Twilio does: POST with the form
// as body, or GET with the form appended to the URL's query.
func (s *Server) send(method, target string, form url.Values) (int, error) {
	var req *http.Request
	var err error
	switch method {
	case http.MethodPost:
		req, err = http.NewRequest(method, target, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", Sign(s.authToken, target, form))
		}
	case http.MethodGet:
		u, perr := url.Parse(target)
		if perr != nil {
			return 0, fmt.Errorf("twiliotest: webhook URL %q: %w", target, perr)
		}
		q := u.Query()
		for k, vs := range form {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
		req, err = http.NewRequest(method, u.String(), nil)
		if err == nil {
			req.Header.Set("X-Twilio-Signature", Sign(s.authToken, u.String(), nil))
		}
	default:
		return 0, fmt.Errorf("twiliotest: webhook method %q is neither GET nor POST", method)
	}
	if err != nil {
		return 0, fmt.Errorf("twiliotest: webhook request: %w", err)
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", randomHex(16))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("twiliotest: webhook %s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// Sign returns the X-Twilio-Signature Twilio sends with a webhook request
// to fullURL with POST parameters form: the base64 HMAC-SHA1, keyed with
// authToken, of fullURL followed by each parameter's name and value, sorted
// by name (and value).
func Sign(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// gatherAction finds the action URL and method of the first <Gather> in a
// TwiML document.
func gatherAction(twiml string) (action, method string, err error) {
	d := xml.NewDecoder(strings.NewReader(twiml))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return "", "", errors.New("its TwiML has no <Gather>")
		}
		if err != nil {
			return "", "", fmt.Errorf("its TwiML does not parse: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Gather" {
			continue
		}
		method = http.MethodPost
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "action":
				action = a.Value
			case "method":
				method = strings.ToUpper(a.Value)
			}
		}
		if u, err := url.Parse(action); err != nil || !u.IsAbs() {
			return "", "", fmt.Errorf("its <Gather> action %q is not an absolute URL", action)
		}
		return action, method, nil
	}
}

func wellFormed(doc string) bool {
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
