package activities

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ops/vigil/store"
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
	a := New(st, nil, nil)
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
	if _, err := New(nil, nil, nil).RecentChanges(ctx, ChangesRequest{Application: "x"}); err == nil {
		t.Error("no store: want an error")
	}
}
