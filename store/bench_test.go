package store_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ops/vigil/store"
)

// BenchmarkStore measures the round trip of the calls on Vigil's hot paths (the incident
// record, the usage log, the replay guard, role reads, deployment saves and lists) on both
// backends.
func BenchmarkStore(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			s, err := store.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "vigil.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"postgres", func(b *testing.B) store.Store { return openPostgres(b, testDatabaseURL(b)) }},
	} {
		b.Run(backend.name, func(b *testing.B) { benchStore(b, backend.open(b)) })
	}
}

func benchStore(b *testing.B, s store.Store) {
	ctx := b.Context()
	check := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 200 {
		check(s.SaveIncident(ctx, store.Incident{
			WorkflowID: fmt.Sprintf("incident-%03d", i), RunID: "r", Status: "completed", Application: "api",
			Alert: json.RawMessage(`{"labels":{"alertname":"SlowSQL"}}`), CreatedAt: t0.Add(time.Duration(i) * time.Second),
		}))
		check(s.SaveDeployment(ctx, store.Deployment{
			ID: fmt.Sprintf("dep-%03d", i), WorkflowID: "w", Status: "done", PlannedAt: t0.Add(time.Duration(i) * time.Minute),
			Applications: []string{"api", fmt.Sprintf("app-%d", i%5)}, Body: json.RawMessage(`{"x":1}`),
		}))
	}
	_, err := s.PutRoleVersion(ctx, store.RoleVersion{Code: "analyst", Spec: json.RawMessage(`{"system":"x"}`)})
	check(err)

	n := 0
	b.Run("SaveIncident", func(b *testing.B) {
		for b.Loop() {
			n++
			check(s.SaveIncident(ctx, store.Incident{WorkflowID: fmt.Sprintf("incident-%03d", n%200), RunID: "r2", Status: "running",
				Details: json.RawMessage(`{"facts":[1,2,3]}`)}))
		}
	})
	b.Run("GetIncident", func(b *testing.B) {
		for b.Loop() {
			n++
			_, err := s.GetIncident(ctx, fmt.Sprintf("incident-%03d", n%200))
			check(err)
		}
	})
	b.Run("ListIncidents50", func(b *testing.B) {
		for b.Loop() {
			_, err := s.ListIncidents(ctx, store.IncidentFilter{Limit: 50})
			check(err)
		}
	})
	b.Run("RecordLLMCall", func(b *testing.B) {
		for b.Loop() {
			n++
			check(s.RecordLLMCall(ctx, store.LLMCall{ID: fmt.Sprintf("call-%d", n), Client: "bench", Role: "analyst",
				Provider: "p", Model: "m", Request: json.RawMessage(`{"messages":[]}`), Response: "ok", LatencyMS: 12}))
		}
	})
	b.Run("GetRole", func(b *testing.B) {
		for b.Loop() {
			_, err := s.GetRole(ctx, "analyst", 0)
			check(err)
		}
	})
	b.Run("ClaimOnce", func(b *testing.B) {
		for b.Loop() {
			n++
			_, err := s.ClaimOnce(ctx, fmt.Sprintf("key-%d", n), time.Now().Add(time.Minute))
			check(err)
		}
	})
	b.Run("SaveDeployment", func(b *testing.B) {
		for b.Loop() {
			n++
			check(s.SaveDeployment(ctx, store.Deployment{ID: fmt.Sprintf("dep-%03d", n%200), WorkflowID: "w", Status: "watching",
				Seq: n, PlannedAt: t0, Applications: []string{"api"}, Body: json.RawMessage(`{"x":2}`)}))
		}
	})
	b.Run("ListDeploymentsByApp", func(b *testing.B) {
		for b.Loop() {
			_, err := s.ListDeployments(ctx, store.DeploymentFilter{Application: "app-3", Limit: 20})
			check(err)
		}
	})
}
