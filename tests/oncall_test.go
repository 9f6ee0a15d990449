package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/phone/twiliotest"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

const (
	testTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	testTwilioToken = "0123456789abcdef0123456789abcdef"
)

// A critical alert becomes a report, then a page: the built-in triager pages, the first person
// on the rota is called through the real twilio-go client (against a local Twilio), does not
// press 1, the second one is called and presses 1 — the signed Twilio callback acknowledges the
// page. A second acknowledgement is refused; a forged callback is refused.
// (Kim presses 2 instead of hanging up: a declined call moves on at once.)
func TestCriticalIncidentPagesByPhoneUntilAcknowledged(t *testing.T) {
	tw := twiliotest.New(t, testTwilioSID, testTwilioToken)
	t.Setenv("VIGIL_TEST_TWILIO_TOKEN", testTwilioToken)
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Twilio = config.Twilio{AccountSID: testTwilioSID, AuthTokenEnv: "VIGIL_TEST_TWILIO_TOKEN", From: "+15550000000", BaseURL: tw.URL}
		c.OnCall = config.OnCall{Severities: []string{"critical"}, AckTimeout: time.Hour, Rounds: 1,
			Rota: []config.RotaEntry{{Application: "*", People: []config.Person{
				{Name: "Kim Minji", Phone: "+15551230001"}, {Name: "Lee Jun", Phone: "+15551230002"}}}}}
	}))

	body, _ := profile.Example("slow-sql")
	code, out, _ := post(t, base+"/v1/alerts/apm", body)
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc accepted
	require.NoError(t, json.Unmarshal(out, &acc))
	v := waitIncident(t, base, acc.WorkflowID)
	require.Equal(t, "completed", v.Status, string(v.Details))
	// The report is stored (completed) before it is delivered and the page is started; the page's
	// workflow ID is added by the save after that.
	var details struct {
		OnCall string `json:"oncall"`
	}
	require.Eventually(t, func() bool {
		v = waitIncident(t, base, acc.WorkflowID)
		details.OnCall = ""
		return json.Unmarshal(v.Details, &details) == nil && details.OnCall != ""
	}, 30*time.Second, 100*time.Millisecond, "the critical incident was handed to the on-call")

	require.Eventually(t, func() bool { return len(tw.Calls()) == 1 }, 30*time.Second, 50*time.Millisecond)
	first := tw.Calls()[0]
	require.Equal(t, "+15551230001", first.To)
	require.Equal(t, "+15550000000", first.From)
	require.Contains(t, first.Twiml, "critical incident on checkout api")
	require.Contains(t, first.Twiml, "Press 1 to acknowledge")

	// Kim presses 2: not an acknowledgement — Lee is called at once, not after the timeout; the
	// call's late status callback changes nothing.
	status, err := tw.Answer(first.SID, "2")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Eventually(t, func() bool { return len(tw.Calls()) == 2 }, 30*time.Second, 50*time.Millisecond)
	status, err = tw.Status(first.SID, "completed")
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status)
	second := tw.Calls()[1]
	require.Equal(t, "+15551230002", second.To)

	// A forged callback (wrong signature) is refused.
	u, err := url.Parse(strings.Split(second.StatusCallback, "?")[0])
	require.NoError(t, err)
	gather := base + strings.Replace(u.Path, "/status", "/gather", 1) + "?step=2"
	req, _ := http.NewRequest(http.MethodPost, gather, strings.NewReader("Digits=1&CallSid="+second.SID))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "forged")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Lee presses 1.
	status, err = tw.Answer(second.SID, "1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	var st workflows.OnCallState
	require.Eventually(t, func() bool {
		return getJSON(t, base+"/v1/oncall/"+details.OnCall, &st) == http.StatusOK && st.Status == workflows.OnCallAcknowledged
	}, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, "Lee Jun", st.AckedBy)
	require.Equal(t, "phone", st.AckVia)
	require.Len(t, st.Attempts, 2)
	require.Equal(t, "declined", st.Attempts[0].Status)
	require.Len(t, tw.Calls(), 2, "each person called once")
	require.Empty(t, tw.HungUp(), "the call answered with 1 ends by itself")

	// The page is over: a later acknowledgement through the API is a conflict, an unknown page 404.
	code, out, _ = post(t, base+"/v1/oncall/"+details.OnCall+"/ack", []byte(`{"by":"Kim Minji"}`))
	require.Equal(t, http.StatusConflict, code, string(out))
	code, _, _ = post(t, base+"/v1/oncall/oncall-nope/ack", []byte(`{"by":"Kim Minji"}`))
	require.Equal(t, http.StatusNotFound, code)
	code, out, _ = post(t, base+"/v1/oncall/"+details.OnCall+"/ack", []byte(`{}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, string(out))
}

// An Alertmanager group's critical incident pages; when Alertmanager resolves the group, the
// paging stops before anyone else is called.
func TestResolvedIncidentStopsThePage(t *testing.T) {
	tw := twiliotest.New(t, testTwilioSID, testTwilioToken)
	t.Setenv("VIGIL_TEST_TWILIO_TOKEN", testTwilioToken)
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		c.Alerts.GroupWindow = time.Second
		c.Twilio = config.Twilio{AccountSID: testTwilioSID, AuthTokenEnv: "VIGIL_TEST_TWILIO_TOKEN", From: "+15550000000", BaseURL: tw.URL}
		c.OnCall = config.OnCall{Severities: []string{"critical"}, AckTimeout: time.Hour, Rounds: 1,
			Rota: []config.RotaEntry{{Application: "checkout-api", People: []config.Person{
				{Name: "Kim Minji", Phone: "+15551230001"}, {Name: "Lee Jun", Phone: "+15551230002"}}}}}
	}))
	code, out, _ := post(t, base+"/v1/alerts/alertmanager", amPayload("firing", "pod-a"))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var acc struct {
		WorkflowID string `json:"workflowId"`
	}
	require.NoError(t, json.Unmarshal(out, &acc))
	var details struct {
		OnCall string `json:"oncall"`
	}
	// The report is saved first, the page's ID right after it: wait for the second save.
	require.Eventually(t, func() bool {
		v := waitIncident(t, base, acc.WorkflowID)
		return json.Unmarshal(v.Details, &details) == nil && details.OnCall != ""
	}, 30*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return len(tw.Calls()) == 1 }, 30*time.Second, 50*time.Millisecond)

	code, out, _ = post(t, base+"/v1/alerts/alertmanager", amPayload("resolved", "pod-a"))
	require.Equal(t, http.StatusAccepted, code, string(out))
	var st workflows.OnCallState
	require.Eventually(t, func() bool {
		return getJSON(t, base+"/v1/oncall/"+details.OnCall, &st) == http.StatusOK && st.Status == workflows.OnCallResolved
	}, 30*time.Second, 100*time.Millisecond)
	require.Len(t, tw.Calls(), 1, "Lee was never called")
	require.Equal(t, []string{tw.Calls()[0].SID}, tw.HungUp(), "Kim's ringing phone was hung up")
	require.Equal(t, "hung-up", st.Attempts[0].Status)
}
