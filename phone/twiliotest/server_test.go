package twiliotest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go/client"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
)

const testTwiml = `<Response><Gather numDigits="1" action="%s" method="POST" timeout="10"><Say>Hi. Press 1 to acknowledge.</Say></Gather></Response>`

// post sends a create-call request with the given credentials and form and
// returns the status and decoded JSON answer.
func post(t *testing.T, s *Server, user, pass, account string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+account+"/Calls.json", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("I-Twilio-Idempotency-Token", "incident-42/page-1")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func callForm(ackURL string) url.Values {
	return url.Values{
		"To":                  {"+15551230001"},
		"From":                {"+15550009999"},
		"Twiml":               {strings.Replace(testTwiml, "%s", ackURL, 1)},
		"StatusCallback":      {"https://vigil.example.com/status"},
		"StatusCallbackEvent": {"initiated", "completed"},
	}
}

func TestCreateCallAnswersTwilioCallJSON(t *testing.T) {
	s := New(t, testSID, testToken)
	status, body := post(t, s, testSID, testToken, testSID, callForm("https://vigil.example.com/ack"))
	require.Equal(t, http.StatusCreated, status)
	require.Regexp(t, `^CA[0-9a-f]{32}$`, body["sid"])
	require.Equal(t, "queued", body["status"])
	require.Equal(t, "+15551230001", body["to"])
	require.Equal(t, "+15550009999", body["from"])
	require.Equal(t, testSID, body["account_sid"])
	require.Equal(t, "outbound-api", body["direction"])
	require.Equal(t, "/2010-04-01/Accounts/"+testSID+"/Calls/"+body["sid"].(string)+".json", body["uri"])
	_, err := time.Parse(time.RFC1123Z, body["date_created"].(string))
	require.NoError(t, err)

	calls := s.Calls()
	require.Len(t, calls, 1)
	require.Equal(t, body["sid"], calls[0].SID)
	require.Equal(t, "https://vigil.example.com/status", calls[0].StatusCallback)
	require.Equal(t, []string{"initiated", "completed"}, calls[0].StatusCallbackEvents)
	require.Equal(t, "incident-42/page-1", calls[0].IdempotencyKey)
}

func TestCreateCallChecksBasicAuth(t *testing.T) {
	s := New(t, testSID, testToken)
	for name, c := range map[string]struct{ user, pass, account string }{
		"none":          {"", "", testSID},
		"wrong token":   {testSID, "ffffffffffffffffffffffffffffffff", testSID},
		"wrong account": {"ACffffffffffffffffffffffffffffffff", testToken, testSID},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := post(t, s, c.user, c.pass, c.account, callForm("https://x.example/ack"))
			require.Equal(t, http.StatusUnauthorized, status)
			require.EqualValues(t, 20003, body["code"])
			require.EqualValues(t, 401, body["status"])
			require.NotEmpty(t, body["message"])
			require.NotEmpty(t, body["more_info"])
		})
	}
	status, body := post(t, s, testSID, testToken, "ACffffffffffffffffffffffffffffffff", callForm("https://x.example/ack"))
	require.Equal(t, http.StatusNotFound, status)
	require.EqualValues(t, 20404, body["code"])
	require.Empty(t, s.Calls())
}

func TestCreateCallRefusesBadNumbersAndTwiml(t *testing.T) {
	s := New(t, testSID, testToken)
	for _, to := range []string{"", "5551230001", "+0123", "+1555abc", InvalidNumber} {
		f := callForm("https://x.example/ack")
		f.Set("To", to)
		status, body := post(t, s, testSID, testToken, testSID, f)
		require.Equal(t, http.StatusBadRequest, status, to)
		require.EqualValues(t, 21211, body["code"], to)
	}
	f := callForm("https://x.example/ack")
	f.Set("Twiml", "<Response><Say>unclosed</Response>")
	status, body := post(t, s, testSID, testToken, testSID, f)
	require.Equal(t, http.StatusBadRequest, status)
	require.EqualValues(t, 12100, body["code"])
	require.Empty(t, s.Calls())
}

func TestFailNext(t *testing.T) {
	s := New(t, testSID, testToken)
	s.FailNext(2, http.StatusServiceUnavailable)
	for range 2 {
		status, body := post(t, s, testSID, testToken, testSID, callForm("https://x.example/ack"))
		require.Equal(t, http.StatusServiceUnavailable, status)
		require.EqualValues(t, 20503, body["code"])
		require.EqualValues(t, 503, body["status"])
	}
	status, _ := post(t, s, testSID, testToken, testSID, callForm("https://x.example/ack"))
	require.Equal(t, http.StatusCreated, status)
	require.Len(t, s.Calls(), 1)
}

func TestSignMatchesTwilioVector(t *testing.T) {
	// The example of twilio-go's request validator tests.
	form := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
		"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	require.Equal(t, "vOEb5UThFn24KEfnOFLQY2AE5FY=", Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form))
}

// recorder is an app webhook that validates Twilio's signature with
// twilio-go and records what it accepted.
type recorder struct {
	mu    sync.Mutex
	forms []url.Values
	reqs  []*http.Request
	srv   *httptest.Server
}

func newRecorder(t *testing.T, token string) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v := client.NewRequestValidator(token)
		full := "http://" + r.Host + r.URL.RequestURI()
		if !v.ValidateBody(full, body, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.forms = append(rec.forms, form)
		rec.reqs = append(rec.reqs, r)
		rec.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) last() (url.Values, *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forms[len(r.forms)-1], r.reqs[len(r.reqs)-1]
}

func TestAnswerPostsSignedGatherResult(t *testing.T) {
	s := New(t, testSID, testToken)
	app := newRecorder(t, testToken)
	f := callForm(app.srv.URL + "/ack?wf=a&amp;step=1")
	f.Set("StatusCallback", app.srv.URL+"/status")
	_, body := post(t, s, testSID, testToken, testSID, f)
	sid := body["sid"].(string)

	code, err := s.Answer(sid, "1")
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, code)
	form, req := app.last()
	require.Equal(t, http.MethodPost, req.Method)
	require.Equal(t, "/ack", req.URL.Path)
	require.Equal(t, "wf=a&step=1", req.URL.RawQuery, "the action attribute is XML-unescaped")
	require.Equal(t, "application/x-www-form-urlencoded", req.Header.Get("Content-Type"))
	require.NotEmpty(t, req.Header.Get("I-Twilio-Idempotency-Token"))
	for k, v := range map[string]string{
		"CallSid": sid, "AccountSid": testSID, "From": "+15550009999", "To": "+15551230001",
		"Digits": "1", "CallStatus": "in-progress",
	} {
		require.Equal(t, v, form.Get(k), k)
	}

	code, err = s.Status(sid, "completed")
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, code)
	form, req = app.last()
	require.Equal(t, "/status", req.URL.Path)
	require.Equal(t, "completed", form.Get("CallStatus"))
	require.Equal(t, sid, form.Get("CallSid"))
	require.Equal(t, "0", form.Get("SequenceNumber"))
	_, err = s.Status(sid, "no-answer")
	require.NoError(t, err)
	form, _ = app.last()
	require.Equal(t, "1", form.Get("SequenceNumber"))

	// Signed with another token, the app refuses.
	other := newRecorder(t, "ffffffffffffffffffffffffffffffff")
	f = callForm(other.srv.URL + "/ack")
	_, body = post(t, s, testSID, testToken, testSID, f)
	code, err = s.Answer(body["sid"].(string), "1")
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, code)
}

func TestAnswerAndStatusErrors(t *testing.T) {
	s := New(t, testSID, testToken)
	_, err := s.Answer("CA00000000000000000000000000000000", "1")
	require.ErrorContains(t, err, "no call")

	f := callForm("")
	f.Set("Twiml", "<Response><Say>no gather</Say></Response>")
	f.Del("StatusCallback")
	_, body := post(t, s, testSID, testToken, testSID, f)
	sid := body["sid"].(string)
	_, err = s.Answer(sid, "1")
	require.ErrorContains(t, err, "no <Gather>")
	_, err = s.Status(sid, "completed")
	require.ErrorContains(t, err, "no StatusCallback")
}
