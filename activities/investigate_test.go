package activities

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/promsource"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tracesource"
)

func TestRecentChangesReadsDeploymentRecords(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 12, 2, 3, 14, 0, 0, time.UTC)
	save := func(id string, planned time.Time, body string) {
		t.Helper()
		if err := st.SaveDeployment(ctx, store.Deployment{ID: id, WorkflowID: "deploy-" + id, Version: "2.4.1", PlannedAt: planned,
			Applications: []string{"checkout-api"}, Status: "watching", Body: json.RawMessage(body)}); err != nil {
			t.Fatal(err)
		}
	}
	finished := at.Add(-4 * time.Minute).Format(time.RFC3339)
	save("d-recent", at.Add(-20*time.Minute), `{"status":"watching","finishedAt":"`+finished+`","checkpoints":[
		{"label":"-30m","verdict":{"state":"STABLE","comment":"fine","applications":[]}},
		{"label":"+10m","verdict":{"state":"UNSTABLE","comment":"all","applications":[{"name":"checkout-api","state":"UNSTABLE","metric":["TRANSACTION"],"comment":"error ratio up"}]}},
		{"label":"+30m"}]}`)
	save("d-old", at.Add(-8*time.Hour), `{"status":"done","checkpoints":[]}`)
	a := &Incident{Store: st}
	got, err := a.RecentChanges(ctx, ChangesRequest{Application: "checkout-api", From: at.Add(-6 * time.Hour), To: at.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %+v", got)
	}
	c := got[0]
	if c.ID != "d-recent" || !c.At.Equal(at.Add(-4*time.Minute)) || c.State != "UNSTABLE" || c.Checkpoint != "+10m" ||
		c.Comment != "error ratio up" || c.Version != "2.4.1" || len(c.Metrics) != 1 {
		t.Errorf("change %+v", c)
	}
	if _, err := (&Incident{}).RecentChanges(ctx, ChangesRequest{Application: "x"}); err == nil {
		t.Error("no store: want an error")
	}
}

type fakeExemplars []promsource.Exemplar

func (f fakeExemplars) Exemplars(context.Context, string, time.Time, time.Time) ([]promsource.Exemplar, error) {
	return f, nil
}

type fakeTraces map[string]*profile.Profile

func (fakeTraces) Name() string { return "fake" }
func (f fakeTraces) Fetch(_ context.Context, id string) (*profile.Profile, error) {
	if p, ok := f[id]; ok {
		return p, nil
	}
	return nil, tracesource.ErrNotFound
}

func TestExemplarTracePicksTheFailingSlowestRequest(t *testing.T) {
	b, _ := profile.Example("slow-sql")
	al, err := profile.ParseAlert(b)
	if err != nil {
		t.Fatal(err)
	}
	a := &Incident{}
	if r, _ := a.ExemplarTrace(t.Context(), ExemplarRequest{Application: "x"}); r == nil || r.Note == "" || r.TraceID != "" {
		t.Errorf("not configured: %+v", r)
	}
	fail := map[string]string{"http_route": "/api/checkout", "http_request_method": "POST", "http_response_status_code": "500"}
	ok := map[string]string{"http_route": "/api/items", "http_request_method": "GET", "http_response_status_code": "200"}
	a.Exemplars = fakeExemplars{
		{SeriesLabels: ok, TraceID: "slow-ok", Value: 9},
		{SeriesLabels: fail, TraceID: "gone", Value: 5},
		{SeriesLabels: fail, TraceID: "failing", Value: 4.1},
		{SeriesLabels: fail, TraceID: "fast-failing", Value: 0.1},
	}
	a.Traces = tracesource.Chain{fakeTraces{"failing": al.Profile, "slow-ok": al.Profile}}
	r, err := a.ExemplarTrace(t.Context(), ExemplarRequest{Application: "checkout-api"})
	if err != nil {
		t.Fatal(err)
	}
	if r.TraceID != "failing" || !r.Failing || r.Endpoint != "POST /api/checkout" || r.ValueMs != 4100 || len(r.Facts) == 0 ||
		!strings.Contains(r.Note, "gone") {
		t.Errorf("trace %+v", r)
	}
	a.Exemplars = fakeExemplars{}
	if r, _ := a.ExemplarTrace(t.Context(), ExemplarRequest{Application: "x"}); !strings.Contains(r.Note, "no exemplars") {
		t.Errorf("no exemplars: %+v", r)
	}
}
