package tests

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/ghclient/githubtest"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/llm/openai"
	"github.com/vigil-ops/vigil/oncall"
	"github.com/vigil-ops/vigil/phone"
	"github.com/vigil-ops/vigil/phone/twiliotest"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/worker"
	"github.com/vigil-ops/vigil/workflows"
)

// TestRecordHistories runs each workflow on a real server and writes its history to
// workflows/testdata/histories, where workflows' replay test checks that today's code still
// replays it. It runs only with VIGIL_RECORD_HISTORIES=1: before the first release, record the
// current histories again when a workflow changes; after it, follow docs/versioning.md (a marker,
// and a history per release), never re-record to make a failing replay pass.
func TestRecordHistories(t *testing.T) {
	if os.Getenv("VIGIL_RECORD_HISTORIES") != "1" {
		t.Skip("set VIGIL_RECORD_HISTORIES=1 to record workflow histories for the replay tests")
	}
	srv := testenv.StartTemporal(t, "")
	c := testenv.Client(t, srv)
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "vigil.db"))
	require.NoError(t, err)
	defer st.Close()
	upstream := llmtest.NewServer(t)
	upstream.SetDefault(llmtest.Text("The pool at db-main.corp.example.com is exhausted."))
	reg := llm.NewRegistry(app.BuiltinAnalyst())
	prov, err := openai.New(openai.Config{Name: "local", BaseURL: upstream.URL})
	require.NoError(t, err)
	reg.Register("local", prov)
	reg.AddModel(llm.ModelInfo{Provider: "local", Model: "m"})
	// The on-call calls a local Twilio; nobody on the rota acknowledges in time but the second.
	tw := twiliotest.New(t, "AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef")
	oc := &activities.OnCall{Store: st, Logger: testenv.Logger(t), PublicURL: "https://vigil.example.com"}
	oc.Phone, err = phone.NewTwilio(phone.TwilioConfig{AccountSID: "AC0123456789abcdef0123456789abcdef",
		AuthToken: "0123456789abcdef0123456789abcdef", From: "+15550000000", BaseURL: tw.URL})
	require.NoError(t, err)
	oc.Config = activities.OnCallConfig{Severities: []string{"critical"}, AckTimeout: 2 * time.Second, Rounds: 1,
		PeopleFor: func(string) []oncall.Person {
			return []oncall.Person{{Name: "Kim", Phone: "+15551230001"}, {Name: "Lee", Phone: "+15551230002"}}
		}}
	tu := &activities.Tuning{Store: st}
	logger := testenv.Logger(t)
	w := worker.New(c, worker.Activities{
		Gateway:  &activities.Gateway{Store: st, Providers: reg, Logger: logger},
		Incident: &activities.Incident{Store: st},
		Change:   &activities.Change{Store: st, Logger: logger},
		Delivery: &activities.Delivery{Store: st, Logger: logger, PublicURL: "https://vigil.example.com"},
		OnCall:   oc,
		Tuning:   tu,
	}, worker.Options{})
	require.NoError(t, w.Start())
	defer w.Stop()

	only := os.Getenv("VIGIL_RECORD_ONLY") // a name prefix: record only those histories
	record := func(name, id string, wf any, arg any) {
		if only != "" && !strings.HasPrefix(name, only) {
			return
		}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, wf, arg)
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		hist := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			hist.Events = append(hist.Events, ev)
		}
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
		require.NoError(t, err)
		out := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
		require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
		require.NoError(t, os.WriteFile(out, b, 0o644))
		// The workflow ID, for replays of code that derives child IDs from it.
		require.NoError(t, os.WriteFile(strings.TrimSuffix(out, ".json")+".wfid", []byte(id+"\n"), 0o644))
		t.Logf("recorded %s (%d events)", out, len(hist.Events))
	}
	for _, ex := range []string{"slow-sql", "normal"} {
		raw, _ := profile.Example(ex)
		alert, err := profile.ParseAlert(raw)
		require.NoError(t, err)
		record("incident-"+ex, workflows.IncidentWorkflowID(alert), workflows.IncidentWorkflow, workflows.IncidentInput{Alert: *alert, Client: "recorder"})
	}
	record("probe-sleep", "probe-record", workflows.ProbeWorkflow, workflows.ProbeInput{Sleep: time.Second, Message: "recorded"})
	// A role call through a budget-free LLM link (local activities) with masking.
	role := roles.ForCall(roles.Role{Code: "rec", SystemMessage: "Answer.", Chain: []roles.Link{
		{Provider: "local", Model: "m", Attempts: 2}, {Provider: "builtin", Model: "analyst"}}}, reg)
	record("rolecall-local-link", "rolecall-record", workflows.RoleCallWorkflow, workflows.RoleCallInput{
		Role: role, Client: "recorder",
		Messages: []llm.Message{{Role: "user", Content: "Why is jdbc:mysql://db-main.corp.example.com:3306/shop slow for kim@example.com?"}},
	})
	// The on-call: a decision by the built-in triager, a call nobody answers (status no-answer),
	// a second call acknowledged through the ack Update.
	go func() {
		id := workflows.OnCallWorkflowID("rec-incident")
		for len(tw.Calls()) < 1 {
			time.Sleep(20 * time.Millisecond)
		}
		_ = c.SignalWorkflow(ctx, id, "", workflows.SignalCallStatus, workflows.CallStatus{Step: 1, CallSID: tw.Calls()[0].SID, Status: "no-answer"})
		for len(tw.Calls()) < 2 {
			time.Sleep(20 * time.Millisecond)
		}
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.UpdateAck,
			Args: []any{workflows.Ack{Step: 2, Via: "phone"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			_ = h.Get(ctx, nil)
		}
	}()
	record("oncall", workflows.OnCallWorkflowID("rec-incident"), workflows.OnCallWorkflow, workflows.OnCallInput{
		IncidentID: "rec-incident", Application: "checkout-api", Rule: "SlowSQL", Severity: "critical",
		Summary: "SlowSQL alert on checkout-api. The SELECT on orders took 8,413 ms.", Client: "recorder"})
	// Code tuning: a slow-SQL incident in the store, its file in a local GitHub, the built-in
	// tuner proposing no change.
	gh := githubtest.New(t, "acme", "shop", "gh-token", map[string]string{"src/OrderRepository.java": "class OrderRepository {}\n"})
	tu.GitHub, err = ghclient.New(ghclient.Config{Token: "gh-token", APIURL: gh.URL})
	require.NoError(t, err)
	if raw, ok := profile.Example("slow-sql"); ok {
		al, err := profile.ParseAlert(raw)
		require.NoError(t, err)
		b, _ := json.Marshal(al)
		require.NoError(t, st.SaveIncident(ctx, store.Incident{WorkflowID: "rec-slow-sql", RunID: "r", AlertName: al.Rule,
			Application: al.Application, Severity: al.Severity, Status: "completed", Alert: b}))
	}
	record("code-tuning", "code-tuning-record", workflows.CodeTuningWorkflow, workflows.TuningInput{
		Repository: "acme/shop", Base: "main", MaxProblems: 2, Client: "recorder"})
	// Change tracking on a schedule of seconds: the pre-check (no metrics source: hold, with its
	// enrichment), the finish reported by the release system, two checkpoints, the stored record.
	planned := time.Now().UTC().Add(3 * time.Second)
	go func() {
		time.Sleep(time.Until(planned))
		_ = c.SignalWorkflow(ctx, workflows.DeploymentWorkflowID("rec-1"), "", workflows.SignalDeploymentEvent,
			workflows.DeploymentEvent{Type: workflows.EventFinished, At: planned})
	}()
	record("change-tracking", workflows.DeploymentWorkflowID("rec-1"), workflows.ChangeTrackingWorkflow, workflows.ChangeInput{
		Deployment: change.Deployment{ID: "rec-1", PlannedAt: planned, Version: "1.0",
			Applications: []change.Application{{ID: "a1", Name: "checkout-api"}}},
		Checkpoints: []time.Duration{-2 * time.Second, time.Second, 2 * time.Second}, Client: "recorder"})
}
