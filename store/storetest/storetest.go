// Package storetest is the contract test suite that every store.Store
// implementation must pass.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/store"
)

// Run runs the contract suite against the stores returned by open. Each
// subtest calls open once and must receive a fresh, empty, migrated store;
// Run closes it when the subtest ends (open may also register its own
// cleanup, Close being idempotent).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PingAndBackend", testPingAndBackend},
		{"LLMCall/Batch", testLLMCallBatch},
		{"RateBudget/GCRA", testRateBudget},
		{"RateBudget/Reserve", testRateReserve},
		{"Delivery/RecordAndReplace", testDelivery},
		{"Incident/Paging", testIncidentPaging},
		{"EmptyStore", testEmptyStore},
		{"Incident/RoundTrip", testIncidentRoundTrip},
		{"Incident/UpsertKeepsCreatedAt", testIncidentUpsert},
		{"Incident/DefaultTimestamps", testIncidentDefaults},
		{"Incident/Invalid", testIncidentInvalid},
		{"Incident/ListOrderFiltersLimit", testIncidentList},
		{"Incident/DefaultLimit", testIncidentDefaultLimit},
		{"Role/Versioning", testRoleVersioning},
		{"Role/TombstoneAndRestore", testRoleTombstone},
		{"Role/ListRoles", testListRoles},
		{"Role/CreatedAtAndNilSpec", testRoleCreatedAt},
		{"Role/Invalid", testRoleInvalid},
		{"Role/ConcurrentPut", testRoleConcurrentPut},
		{"LLMCall/RoundTrip", testLLMCallRoundTrip},
		{"LLMCall/Idempotent", testLLMCallIdempotent},
		{"LLMCall/Defaults", testLLMCallDefaults},
		{"LLMCall/Invalid", testLLMCallInvalid},
		{"LLMCall/ListOrderFiltersLimit", testLLMCallList},
		{"LLMCall/DefaultLimit", testLLMCallDefaultLimit},
		{"LLMCall/UsageSummary", testUsageSummary},
		{"APIKey/Hash", testHashAPIKey},
		{"APIKey/PutLookup", testAPIKey},
		{"APIKey/Invalid", testAPIKeyInvalid},
		{"Deployment/RoundTrip", testDeploymentRoundTrip},
		{"Deployment/StaleSeqIgnored", testDeploymentStaleSeq},
		{"Deployment/EqualSeqOverwritesKeepsCreatedAt", testDeploymentUpsert},
		{"Deployment/ConcurrentSaves", testDeploymentConcurrentSaves},
		{"Deployment/Invalid", testDeploymentInvalid},
		{"Deployment/ListOrderFilters", testDeploymentList},
		{"Deployment/Paging", testDeploymentPaging},
		{"Deployment/DefaultLimit", testDeploymentDefaultLimit},
		{"Once/ClaimExpireRelease", testOnceClaim},
		{"Once/Concurrent", testOnceConcurrent},
		{"Once/Bounded", testOnceBounded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

// base is a fixed instant with nanoseconds and a non-UTC zone, to check
// that stores normalise to UTC microseconds.
func base() time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+2", 2*3600))
}

// norm is the normalisation stores apply to timestamps.
func norm(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// requireUTC checks that ts is a non-zero UTC time with microsecond precision.
func requireUTC(t *testing.T, ts time.Time, what string) {
	t.Helper()
	require.False(t, ts.IsZero(), "%s is zero", what)
	require.Equal(t, time.UTC, ts.Location(), "%s location", what)
	require.Zero(t, ts.Nanosecond()%1000, "%s has sub-microsecond digits", what)
}

// requireJSON compares JSON documents semantically; an empty want means the
// stored value was nil and must come back empty (not "null").
func requireJSON(t *testing.T, want, got json.RawMessage, what string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, what)
		return
	}
	require.JSONEq(t, string(want), string(got), what)
}

// requireIncident compares incidents, JSON fields semantically.
func requireIncident(t *testing.T, want, got store.Incident) {
	t.Helper()
	requireJSON(t, want.Alert, got.Alert, want.WorkflowID+" Alert")
	requireJSON(t, want.Details, got.Details, want.WorkflowID+" Details")
	want.Alert, want.Details, got.Alert, got.Details = nil, nil, nil, nil
	require.Equal(t, want, got)
}

// requireRole compares role versions, Spec semantically.
func requireRole(t *testing.T, want, got store.RoleVersion) {
	t.Helper()
	requireJSON(t, want.Spec, got.Spec, fmt.Sprintf("%s v%d Spec", want.Code, want.Version))
	want.Spec, got.Spec = nil, nil
	require.Equal(t, want, got)
}

// requireLLMCall compares LLM calls, Request semantically.
func requireLLMCall(t *testing.T, want, got store.LLMCall) {
	t.Helper()
	requireJSON(t, want.Request, got.Request, want.ID+" Request")
	want.Request, got.Request = nil, nil
	require.Equal(t, want, got)
}

// incidentIDs returns the workflow IDs of incidents, in order.
func incidentIDs(ins []store.Incident) []string {
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = in.WorkflowID
	}
	return ids
}

// callIDs returns the IDs of calls, in order.
func callIDs(cs []store.LLMCall) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// roleKeys returns "code@version" of role versions, in order.
func roleKeys(rvs []store.RoleVersion) []string {
	keys := make([]string, len(rvs))
	for i, rv := range rvs {
		keys[i] = fmt.Sprintf("%s@%d", rv.Code, rv.Version)
		if rv.Deleted {
			keys[i] += "(deleted)"
		}
	}
	return keys
}

func testPingAndBackend(t *testing.T, s store.Store) {
	require.NoError(t, s.Ping(t.Context()))
	require.Contains(t, []string{"sqlite", "postgres"}, s.Backend())
}

func testEmptyStore(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetIncident(ctx, "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetRole(ctx, "missing", 0)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetRole(ctx, "missing", 1)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ListRoleVersions(ctx, "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteRole(ctx, "missing", "ann"), store.ErrNotFound)
	_, err = s.LookupAPIKey(ctx, store.HashAPIKey("missing"))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetDeployment(ctx, "missing")
	require.ErrorIs(t, err, store.ErrNotFound)

	ins, err := s.ListIncidents(ctx, store.IncidentFilter{})
	require.NoError(t, err)
	require.NotNil(t, ins)
	require.Empty(t, ins)
	roles, err := s.ListRoles(ctx)
	require.NoError(t, err)
	require.NotNil(t, roles)
	require.Empty(t, roles)
	calls, err := s.ListLLMCalls(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.NotNil(t, calls)
	require.Empty(t, calls)
	usage, err := s.UsageSummary(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.NotNil(t, usage)
	require.Empty(t, usage)
	deps, err := s.ListDeployments(ctx, store.DeploymentFilter{})
	require.NoError(t, err)
	require.NotNil(t, deps)
	require.Empty(t, deps)
}

func testIncidentRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := store.Incident{
		WorkflowID:  "incident-1",
		RunID:       "run-1",
		AlertName:   "HighErrorRate",
		Application: "checkout",
		Severity:    "critical",
		Status:      "running",
		Language:    "en",
		Report:      "## Report\nLine two — ünïcode.",
		Alert:       json.RawMessage(`{"labels": {"alertname": "HighErrorRate"}, "value": 0.25}`),
		Details:     json.RawMessage(`{"facts":["a","b"],"answeredBy":{"role":"triage","version":3}}`),
		CreatedAt:   base(),
		UpdatedAt:   base().Add(time.Minute),
	}
	require.NoError(t, s.SaveIncident(ctx, in))
	got, err := s.GetIncident(ctx, "incident-1")
	require.NoError(t, err)
	requireUTC(t, got.CreatedAt, "CreatedAt")
	requireUTC(t, got.UpdatedAt, "UpdatedAt")
	want := in
	want.CreatedAt, want.UpdatedAt = norm(in.CreatedAt), norm(in.UpdatedAt)
	requireIncident(t, want, got)
	require.True(t, got.CreatedAt.Equal(norm(base())))

	// Nil JSON round-trips as empty, not as the text "null".
	bare := store.Incident{WorkflowID: "incident-2", Status: "running", CreatedAt: base(), UpdatedAt: base()}
	require.NoError(t, s.SaveIncident(ctx, bare))
	got, err = s.GetIncident(ctx, "incident-2")
	require.NoError(t, err)
	require.Empty(t, got.Alert)
	require.Empty(t, got.Details)

	_, err = s.GetIncident(ctx, "incident-3")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testIncidentUpsert(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := store.Incident{
		WorkflowID: "wf", RunID: "run-1", AlertName: "DiskFull", Application: "db", Severity: "warning",
		Status: "running", Language: "en", Report: "",
		Alert:     json.RawMessage(`{"a":1}`),
		Details:   json.RawMessage(`{"x":[1,2]}`),
		CreatedAt: base(), UpdatedAt: base(),
	}
	require.NoError(t, s.SaveIncident(ctx, first))

	second := store.Incident{
		WorkflowID: "wf", RunID: "run-2", AlertName: "DiskFull", Application: "db-2", Severity: "critical",
		Status: "completed", Language: "de", Report: "done",
		Alert:     nil,
		Details:   json.RawMessage(`{"y":true}`),
		CreatedAt: base().Add(24 * time.Hour), // must be ignored
		UpdatedAt: base().Add(time.Hour),
	}
	require.NoError(t, s.SaveIncident(ctx, second))
	got, err := s.GetIncident(ctx, "wf")
	require.NoError(t, err)
	want := second
	want.CreatedAt, want.UpdatedAt = norm(first.CreatedAt), norm(second.UpdatedAt)
	requireIncident(t, want, got)

	// Zero timestamps on an update: CreatedAt kept, UpdatedAt set to now.
	before := time.Now().Add(-time.Second)
	third := second
	third.Status, third.CreatedAt, third.UpdatedAt = "resolved", time.Time{}, time.Time{}
	require.NoError(t, s.SaveIncident(ctx, third))
	got, err = s.GetIncident(ctx, "wf")
	require.NoError(t, err)
	require.Equal(t, "resolved", got.Status)
	require.True(t, got.CreatedAt.Equal(norm(first.CreatedAt)), "CreatedAt %v", got.CreatedAt)
	require.True(t, got.UpdatedAt.After(before), "UpdatedAt %v", got.UpdatedAt)

	all, err := s.ListIncidents(ctx, store.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
}

func testIncidentDefaults(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	require.NoError(t, s.SaveIncident(ctx, store.Incident{WorkflowID: "wf", Status: "running"}))
	after := time.Now().Add(time.Second)
	got, err := s.GetIncident(ctx, "wf")
	require.NoError(t, err)
	for what, ts := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
		requireUTC(t, ts, what)
		require.True(t, ts.After(before) && ts.Before(after), "%s = %v", what, ts)
	}
}

func testIncidentInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.Error(t, s.SaveIncident(ctx, store.Incident{Status: "running"}), "empty workflow ID")
	require.Error(t, s.SaveIncident(ctx, store.Incident{WorkflowID: "wf", Alert: json.RawMessage(`{bad`)}))
	require.Error(t, s.SaveIncident(ctx, store.Incident{WorkflowID: "wf", Details: json.RawMessage(`[1,`)}))
	_, err := s.GetIncident(ctx, "wf")
	require.ErrorIs(t, err, store.ErrNotFound, "a rejected incident must not be stored")
}

func testIncidentList(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := base()
	for _, in := range []store.Incident{
		{WorkflowID: "inc-a", Status: "running", Application: "shop", CreatedAt: b.Add(1 * time.Hour)},
		{WorkflowID: "inc-c", Status: "running", Application: "billing", CreatedAt: b.Add(2 * time.Hour)},
		{WorkflowID: "inc-b", Status: "completed", Application: "shop", CreatedAt: b.Add(2 * time.Hour)},
		{WorkflowID: "inc-d", Status: "failed", Application: "billing", CreatedAt: b},
		{WorkflowID: "inc-e", Status: "running", Application: "shop", CreatedAt: b.Add(3 * time.Hour)},
	} {
		in.UpdatedAt = b.Add(5 * time.Hour)
		require.NoError(t, s.SaveIncident(ctx, in))
	}
	for _, tc := range []struct {
		f    store.IncidentFilter
		want []string
	}{
		{store.IncidentFilter{}, []string{"inc-e", "inc-b", "inc-c", "inc-a", "inc-d"}},
		{store.IncidentFilter{Status: "running"}, []string{"inc-e", "inc-c", "inc-a"}},
		{store.IncidentFilter{Application: "shop"}, []string{"inc-e", "inc-b", "inc-a"}},
		{store.IncidentFilter{Status: "running", Application: "shop"}, []string{"inc-e", "inc-a"}},
		{store.IncidentFilter{Limit: 2}, []string{"inc-e", "inc-b"}},
		{store.IncidentFilter{Status: "running", Limit: 1}, []string{"inc-e"}},
		{store.IncidentFilter{Status: "resolved"}, []string{}},
		{store.IncidentFilter{Application: "nope"}, []string{}},
	} {
		got, err := s.ListIncidents(ctx, tc.f)
		require.NoError(t, err)
		require.Equal(t, tc.want, incidentIDs(got), "filter %+v", tc.f)
	}
	got, err := s.ListIncidents(ctx, store.IncidentFilter{Application: "billing"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, got[0].CreatedAt.Equal(norm(b.Add(2*time.Hour))))
	require.True(t, got[1].UpdatedAt.Equal(norm(b.Add(5*time.Hour))))
}

func testIncidentDefaultLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 105 {
		require.NoError(t, s.SaveIncident(ctx, store.Incident{
			WorkflowID: fmt.Sprintf("wf-%03d", i), Status: "running", CreatedAt: base().Add(time.Duration(i) * time.Second),
		}))
	}
	got, err := s.ListIncidents(ctx, store.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, got, 100)
	require.Equal(t, "wf-104", got[0].WorkflowID)
	require.Equal(t, "wf-005", got[99].WorkflowID)
	got, err = s.ListIncidents(ctx, store.IncidentFilter{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, got, 105)
}

func testRoleVersioning(t *testing.T, s store.Store) {
	ctx := t.Context()
	specs := []json.RawMessage{
		json.RawMessage(`{"prompt": "first", "model": "gpt"}`),
		json.RawMessage(`{"prompt": "second", "model": "gpt"}`),
		json.RawMessage(`{"prompt": "third", "links": [1, 2]}`),
	}
	var put []store.RoleVersion
	for i, spec := range specs {
		before := time.Now().Add(-time.Second)
		rv, err := s.PutRoleVersion(ctx, store.RoleVersion{
			Code: "triage", Version: 42, Deleted: true, // both ignored
			Spec: spec, Author: "ann", Comment: fmt.Sprintf("edit %d", i+1),
		})
		require.NoError(t, err)
		require.Equal(t, i+1, rv.Version)
		require.False(t, rv.Deleted)
		require.Equal(t, "triage", rv.Code)
		require.Equal(t, "ann", rv.Author)
		require.Equal(t, fmt.Sprintf("edit %d", i+1), rv.Comment)
		requireUTC(t, rv.CreatedAt, "CreatedAt")
		require.True(t, rv.CreatedAt.After(before))
		requireJSON(t, spec, rv.Spec, "returned Spec")
		put = append(put, rv)
	}
	for _, rv := range put {
		got, err := s.GetRole(ctx, "triage", rv.Version)
		require.NoError(t, err)
		requireRole(t, rv, got)
	}
	latest, err := s.GetRole(ctx, "triage", 0)
	require.NoError(t, err)
	requireRole(t, put[2], latest)

	_, err = s.GetRole(ctx, "triage", 4)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetRole(ctx, "other", 0)
	require.ErrorIs(t, err, store.ErrNotFound)

	versions, err := s.ListRoleVersions(ctx, "triage")
	require.NoError(t, err)
	require.Len(t, versions, 3)
	for i := range put {
		requireRole(t, put[i], versions[i])
	}

	// Another code starts its own sequence.
	rv, err := s.PutRoleVersion(ctx, store.RoleVersion{Code: "analyst", Spec: json.RawMessage(`{}`)})
	require.NoError(t, err)
	require.Equal(t, 1, rv.Version)
}

func testRoleTombstone(t *testing.T, s store.Store) {
	ctx := t.Context()
	v1, err := s.PutRoleVersion(ctx, store.RoleVersion{Code: "triage", Spec: json.RawMessage(`{"v":1}`), Author: "ann"})
	require.NoError(t, err)
	_, err = s.PutRoleVersion(ctx, store.RoleVersion{Code: "triage", Spec: json.RawMessage(`{"v":2}`), Author: "ann"})
	require.NoError(t, err)

	before := time.Now().Add(-time.Second)
	require.NoError(t, s.DeleteRole(ctx, "triage", "bob"))
	_, err = s.GetRole(ctx, "triage", 0)
	require.ErrorIs(t, err, store.ErrNotFound, "latest is a tombstone")
	old, err := s.GetRole(ctx, "triage", 2)
	require.NoError(t, err, "history survives deletion")
	requireJSON(t, json.RawMessage(`{"v":2}`), old.Spec, "v2 Spec")
	tomb, err := s.GetRole(ctx, "triage", 3)
	require.NoError(t, err, "the tombstone itself is part of the history")
	require.True(t, tomb.Deleted)
	require.Equal(t, "bob", tomb.Author)
	requireUTC(t, tomb.CreatedAt, "tombstone CreatedAt")
	require.True(t, tomb.CreatedAt.After(before))

	roles, err := s.ListRoles(ctx)
	require.NoError(t, err)
	require.Empty(t, roles)
	versions, err := s.ListRoleVersions(ctx, "triage")
	require.NoError(t, err)
	require.Equal(t, []string{"triage@1", "triage@2", "triage@3(deleted)"}, roleKeys(versions))

	require.ErrorIs(t, s.DeleteRole(ctx, "triage", "bob"), store.ErrNotFound, "already deleted")

	// Restoring = putting an old spec again, as a new version.
	restored, err := s.PutRoleVersion(ctx, store.RoleVersion{Code: "triage", Spec: v1.Spec, Author: "carol", Comment: "restore v1"})
	require.NoError(t, err)
	require.Equal(t, 4, restored.Version)
	require.False(t, restored.Deleted)
	latest, err := s.GetRole(ctx, "triage", 0)
	require.NoError(t, err)
	requireRole(t, restored, latest)
	requireJSON(t, v1.Spec, latest.Spec, "restored Spec")
	roles, err = s.ListRoles(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"triage@4"}, roleKeys(roles))
	versions, err = s.ListRoleVersions(ctx, "triage")
	require.NoError(t, err)
	require.Equal(t, []string{"triage@1", "triage@2", "triage@3(deleted)", "triage@4"}, roleKeys(versions))
}

func testListRoles(t *testing.T, s store.Store) {
	ctx := t.Context()
	put := func(code string) store.RoleVersion {
		t.Helper()
		rv, err := s.PutRoleVersion(ctx, store.RoleVersion{Code: code, Spec: json.RawMessage(fmt.Sprintf(`{"code":%q}`, code))})
		require.NoError(t, err)
		return rv
	}
	put("zeta")
	put("alpha")
	put("Mike") // uppercase sorts before lowercase (bytewise)
	put("zeta")
	put("alpha")
	lastAlpha := put("alpha")
	put("gone")
	require.NoError(t, s.DeleteRole(ctx, "gone", "ann"))
	put("beta")
	require.NoError(t, s.DeleteRole(ctx, "beta", "ann"))
	put("beta")

	roles, err := s.ListRoles(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"Mike@1", "alpha@3", "beta@3", "zeta@2"}, roleKeys(roles))
	requireRole(t, lastAlpha, roles[1])
}

func testRoleCreatedAt(t *testing.T, s store.Store) {
	ctx := t.Context()
	rv, err := s.PutRoleVersion(ctx, store.RoleVersion{Code: "imported", CreatedAt: base(), Author: "migration"})
	require.NoError(t, err)
	require.True(t, rv.CreatedAt.Equal(norm(base())))
	require.Empty(t, rv.Spec)
	got, err := s.GetRole(ctx, "imported", 1)
	require.NoError(t, err)
	require.Equal(t, norm(base()), got.CreatedAt)
	require.Empty(t, got.Spec, "nil Spec round-trips as empty")
}

func testRoleInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.PutRoleVersion(ctx, store.RoleVersion{Spec: json.RawMessage(`{}`)})
	require.Error(t, err, "empty code")
	_, err = s.PutRoleVersion(ctx, store.RoleVersion{Code: "x", Spec: json.RawMessage(`{nope}`)})
	require.Error(t, err, "invalid JSON")
	_, err = s.ListRoleVersions(ctx, "x")
	require.ErrorIs(t, err, store.ErrNotFound, "a rejected version must not be stored")
}

func testRoleConcurrentPut(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		versions []int
		errs     []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			rv, err := s.PutRoleVersion(ctx, store.RoleVersion{
				Code: "hot", Spec: json.RawMessage(fmt.Sprintf(`{"writer":%d}`, i)), Author: fmt.Sprintf("w%d", i),
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			versions = append(versions, rv.Version)
		})
	}
	close(start)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	slices.Sort(versions)
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, versions)

	stored, err := s.ListRoleVersions(ctx, "hot")
	require.NoError(t, err)
	require.Len(t, stored, n)
	writers := make(map[string]bool)
	for i, rv := range stored {
		require.Equal(t, i+1, rv.Version)
		writers[rv.Author] = true
	}
	require.Len(t, writers, n, "every writer's version is stored once")
}

// sampleCall returns a fully populated LLM call.
func sampleCall(id string, at time.Time) store.LLMCall {
	return store.LLMCall{
		ID:           id,
		Time:         at,
		Client:       "acme",
		Role:         "triage",
		RoleVersion:  3,
		Provider:     "openai",
		Model:        "gpt-4o",
		Subject:      "HighErrorRate on checkout",
		Request:      json.RawMessage(`{"messages": [{"role": "user", "content": "[MASKED]"}], "temperature": 0.2}`),
		Response:     "The error rate is caused by…",
		Status:       "ok",
		Error:        "",
		LatencyMS:    1234,
		InputTokens:  1000,
		OutputTokens: 250,
		CostUSD:      0.012345,
		WorkflowID:   "incident-1",
		Attempt:      2,
		RunID:        "run-1",
		ErrorClass:   "rate_limited",
		Reused:       true,
	}
}

func testLLMCallRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := sampleCall("incident-1/7/2", base())
	require.NoError(t, s.RecordLLMCall(ctx, c))
	e := sampleCall("incident-1/8/1", base().Add(time.Second))
	e.Status, e.Error, e.Request, e.Response = "error", "rate limited", nil, ""
	require.NoError(t, s.RecordLLMCall(ctx, e))

	got, err := s.ListLLMCalls(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireUTC(t, got[0].Time, "Time")
	e.Time, c.Time = norm(e.Time), norm(c.Time)
	requireLLMCall(t, e, got[0])
	requireLLMCall(t, c, got[1])
	require.Empty(t, got[0].Request, "nil Request round-trips as empty")
}

func testLLMCallIdempotent(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := sampleCall("wf/act/1", base())
	require.NoError(t, s.RecordLLMCall(ctx, c))
	require.NoError(t, s.RecordLLMCall(ctx, c), "same call again")
	other := sampleCall("wf/act/1", base().Add(time.Hour))
	other.Model, other.InputTokens, other.CostUSD = "different", 999999, 99
	require.NoError(t, s.RecordLLMCall(ctx, other), "same ID, different content")

	got, err := s.ListLLMCalls(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	c.Time = norm(c.Time)
	requireLLMCall(t, c, got[0])
	usage, err := s.UsageSummary(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.Len(t, usage, 1)
	require.Equal(t, int64(1), usage[0].Calls)
}

func testLLMCallDefaults(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	require.NoError(t, s.RecordLLMCall(ctx, store.LLMCall{ID: "ok-call", Client: "c"}))
	require.NoError(t, s.RecordLLMCall(ctx, store.LLMCall{ID: "err-call", Client: "c", Error: "boom", Time: base()}))
	got, err := s.ListLLMCalls(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.Equal(t, []string{"ok-call", "err-call"}, callIDs(got))
	requireUTC(t, got[0].Time, "defaulted Time")
	require.True(t, got[0].Time.After(before))
	require.Equal(t, "ok", got[0].Status)
	require.Equal(t, "error", got[1].Status)
	require.Equal(t, "boom", got[1].Error)
}

func testLLMCallInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.Error(t, s.RecordLLMCall(ctx, store.LLMCall{Client: "c"}), "empty ID")
	require.Error(t, s.RecordLLMCall(ctx, store.LLMCall{ID: "x", Request: json.RawMessage(`{"a":`)}), "invalid JSON")
	got, err := s.ListLLMCalls(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.Empty(t, got)
}

func testLLMCallList(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := base()
	mk := func(id string, minute int, client, role, provider, model, wf string) {
		t.Helper()
		c := sampleCall(id, b.Add(time.Duration(minute)*time.Minute))
		c.Client, c.Role, c.Provider, c.Model, c.WorkflowID = client, role, provider, model, wf
		require.NoError(t, s.RecordLLMCall(ctx, c))
	}
	mk("c1", 0, "acme", "triage", "openai", "gpt-4o", "wf-1")
	mk("c2", 1, "acme", "triage", "openai", "gpt-4o-mini", "wf-1")
	mk("c3", 2, "acme", "analyst", "anthropic", "claude", "wf-2")
	mk("c5", 3, "globex", "triage", "openai", "gpt-4o", "wf-3")
	mk("c4", 3, "globex", "analyst", "openai", "gpt-4o", "wf-3") // same time as c5: ID breaks the tie
	mk("c6", 4, "acme", "triage", "ollama", "llama3", "wf-4")

	for _, tc := range []struct {
		f    store.LLMCallFilter
		want []string
	}{
		{store.LLMCallFilter{}, []string{"c6", "c4", "c5", "c3", "c2", "c1"}},
		{store.LLMCallFilter{Client: "acme"}, []string{"c6", "c3", "c2", "c1"}},
		{store.LLMCallFilter{Role: "analyst"}, []string{"c4", "c3"}},
		{store.LLMCallFilter{Provider: "openai"}, []string{"c4", "c5", "c2", "c1"}},
		{store.LLMCallFilter{Model: "gpt-4o"}, []string{"c4", "c5", "c1"}},
		{store.LLMCallFilter{WorkflowID: "wf-1"}, []string{"c2", "c1"}},
		{store.LLMCallFilter{Client: "acme", Role: "triage", Provider: "openai"}, []string{"c2", "c1"}},
		{store.LLMCallFilter{Since: b.Add(2 * time.Minute)}, []string{"c6", "c4", "c5", "c3"}},
		{store.LLMCallFilter{Until: b.Add(2 * time.Minute)}, []string{"c2", "c1"}},
		{store.LLMCallFilter{Since: b.Add(time.Minute), Until: b.Add(3 * time.Minute)}, []string{"c3", "c2"}},
		{store.LLMCallFilter{Since: b.Add(time.Minute).In(time.UTC), Until: b.Add(3*time.Minute + time.Microsecond)}, []string{"c4", "c5", "c3", "c2"}},
		{store.LLMCallFilter{Limit: 3}, []string{"c6", "c4", "c5"}},
		{store.LLMCallFilter{Client: "acme", Limit: 1}, []string{"c6"}},
		{store.LLMCallFilter{Client: "nobody"}, []string{}},
	} {
		got, err := s.ListLLMCalls(ctx, tc.f)
		require.NoError(t, err)
		require.Equal(t, tc.want, callIDs(got), "filter %+v", tc.f)
	}
}

func testLLMCallDefaultLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 103 {
		c := sampleCall(fmt.Sprintf("call-%03d", i), base().Add(time.Duration(i)*time.Millisecond))
		require.NoError(t, s.RecordLLMCall(ctx, c))
	}
	got, err := s.ListLLMCalls(ctx, store.LLMCallFilter{})
	require.NoError(t, err)
	require.Len(t, got, 100)
	require.Equal(t, "call-102", got[0].ID)
	require.Equal(t, "call-003", got[99].ID)
	got, err = s.ListLLMCalls(ctx, store.LLMCallFilter{Limit: 500})
	require.NoError(t, err)
	require.Len(t, got, 103)
	usage, err := s.UsageSummary(ctx, store.LLMCallFilter{Limit: 1})
	require.NoError(t, err)
	require.Len(t, usage, 1)
	require.Equal(t, int64(103), usage[0].Calls, "UsageSummary ignores Limit")
}

func testUsageSummary(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := base()
	type spec struct {
		id                      string
		minute                  int
		client, role, prov, mdl string
		status                  string
		in, out, latency        int64
		cost                    float64
	}
	for _, c := range []spec{
		{"u1", 0, "a", "triage", "openai", "gpt", "ok", 10, 1, 100, 0.5},
		{"u2", 1, "a", "triage", "openai", "gpt", "error", 20, 2, 200, 0.25},
		{"u3", 2, "a", "triage", "openai", "gpt", "ok", 30, 3, 600, 0.125},
		{"u4", 3, "a", "triage", "openai", "gpt-mini", "ok", 5, 5, 50, 0.0625},
		{"u5", 4, "a", "analyst", "anthropic", "claude", "error", 0, 0, 1000, 0},
		{"u6", 5, "b", "triage", "openai", "gpt", "ok", 100, 50, 10, 1.5},
		{"u7", 6, "b", "triage", "openai", "gpt", "ok", 100, 50, 30, 1.5},
		{"u1", 9, "z", "z", "z", "z", "ok", 1e6, 1e6, 1e6, 1e6}, // duplicate ID: ignored
	} {
		call := store.LLMCall{
			ID: c.id, Time: b.Add(time.Duration(c.minute) * time.Minute),
			Client: c.client, Role: c.role, Provider: c.prov, Model: c.mdl, Status: c.status,
			InputTokens: c.in, OutputTokens: c.out, LatencyMS: c.latency, CostUSD: c.cost,
		}
		if c.status == "error" {
			call.Error = "failed"
		}
		require.NoError(t, s.RecordLLMCall(ctx, call))
	}

	all := []store.UsageRow{
		{Client: "a", Role: "analyst", Provider: "anthropic", Model: "claude", Calls: 1, Errors: 1, InputTokens: 0, OutputTokens: 0, CostUSD: 0, AvgLatencyMS: 1000},
		{Client: "a", Role: "triage", Provider: "openai", Model: "gpt", Calls: 3, Errors: 1, InputTokens: 60, OutputTokens: 6, CostUSD: 0.875, AvgLatencyMS: 300},
		{Client: "a", Role: "triage", Provider: "openai", Model: "gpt-mini", Calls: 1, Errors: 0, InputTokens: 5, OutputTokens: 5, CostUSD: 0.0625, AvgLatencyMS: 50},
		{Client: "b", Role: "triage", Provider: "openai", Model: "gpt", Calls: 2, Errors: 0, InputTokens: 200, OutputTokens: 100, CostUSD: 3, AvgLatencyMS: 20},
	}
	for _, tc := range []struct {
		f    store.LLMCallFilter
		want []store.UsageRow
	}{
		{store.LLMCallFilter{}, all},
		{store.LLMCallFilter{Client: "a"}, all[:3]},
		{store.LLMCallFilter{Provider: "openai", Model: "gpt"}, []store.UsageRow{all[1], all[3]}},
		{store.LLMCallFilter{Since: b.Add(2 * time.Minute), Until: b.Add(6 * time.Minute)}, []store.UsageRow{
			all[0],
			{Client: "a", Role: "triage", Provider: "openai", Model: "gpt", Calls: 1, Errors: 0, InputTokens: 30, OutputTokens: 3, CostUSD: 0.125, AvgLatencyMS: 600},
			all[2],
			{Client: "b", Role: "triage", Provider: "openai", Model: "gpt", Calls: 1, Errors: 0, InputTokens: 100, OutputTokens: 50, CostUSD: 1.5, AvgLatencyMS: 10},
		}},
		{store.LLMCallFilter{Model: "nope"}, []store.UsageRow{}},
	} {
		got, err := s.UsageSummary(ctx, tc.f)
		require.NoError(t, err)
		require.Len(t, got, len(tc.want), "filter %+v: %+v", tc.f, got)
		for i, want := range tc.want {
			g := got[i]
			require.InDelta(t, want.CostUSD, g.CostUSD, 1e-9, "row %d cost, filter %+v", i, tc.f)
			require.InDelta(t, want.AvgLatencyMS, g.AvgLatencyMS, 1e-9, "row %d latency, filter %+v", i, tc.f)
			want.CostUSD, want.AvgLatencyMS, g.CostUSD, g.AvgLatencyMS = 0, 0, 0, 0
			require.Equal(t, want, g, "row %d, filter %+v", i, tc.f)
		}
	}
}

func testHashAPIKey(t *testing.T, _ store.Store) {
	require.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", store.HashAPIKey("abc"))
	require.Equal(t, store.HashAPIKey("vk_123"), store.HashAPIKey("vk_123"))
	require.NotEqual(t, store.HashAPIKey("vk_123"), store.HashAPIKey("vk_124"))
}

func testAPIKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	raw := "vk_live_s3cr3t"
	k := store.APIKey{
		Hash: store.HashAPIKey(raw), Client: "acme-bot", Org: "acme",
		Scopes: []string{"incidents:read", "roles:write"}, CreatedAt: base(),
	}
	require.NoError(t, s.PutAPIKey(ctx, k))
	got, err := s.LookupAPIKey(ctx, store.HashAPIKey(raw))
	require.NoError(t, err)
	want := k
	want.CreatedAt = norm(k.CreatedAt)
	require.Equal(t, want, got)

	_, err = s.LookupAPIKey(ctx, store.HashAPIKey("vk_live_wrong"))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.LookupAPIKey(ctx, raw)
	require.ErrorIs(t, err, store.ErrNotFound, "the raw key is not a lookup key")

	// Put again: client, org and scopes replaced, CreatedAt kept.
	k2 := store.APIKey{Hash: k.Hash, Client: "acme-bot-2", CreatedAt: base().Add(time.Hour)}
	require.NoError(t, s.PutAPIKey(ctx, k2))
	got, err = s.LookupAPIKey(ctx, k.Hash)
	require.NoError(t, err)
	require.Equal(t, "acme-bot-2", got.Client)
	require.Empty(t, got.Org)
	require.Empty(t, got.Scopes)
	require.Equal(t, norm(base()), got.CreatedAt)

	// Default CreatedAt.
	before := time.Now().Add(-time.Second)
	require.NoError(t, s.PutAPIKey(ctx, store.APIKey{Hash: store.HashAPIKey("second"), Client: "c", Scopes: []string{"*"}}))
	got, err = s.LookupAPIKey(ctx, store.HashAPIKey("second"))
	require.NoError(t, err)
	requireUTC(t, got.CreatedAt, "CreatedAt")
	require.True(t, got.CreatedAt.After(before))
	require.Equal(t, []string{"*"}, got.Scopes)
}

func testAPIKeyInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.Error(t, s.PutAPIKey(ctx, store.APIKey{Hash: "vk_live_raw_key", Client: "c"}), "raw key instead of hash")
	require.Error(t, s.PutAPIKey(ctx, store.APIKey{Hash: "", Client: "c"}), "empty hash")
	require.Error(t, s.PutAPIKey(ctx, store.APIKey{Hash: store.HashAPIKey("k"), Client: ""}), "empty client")
	_, err := s.LookupAPIKey(ctx, store.HashAPIKey("k"))
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDelivery(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetDelivery(ctx, "incident-1", "email")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.RecordDelivery(ctx, store.Delivery{IncidentID: "incident-1", Channel: "email", Status: "failed", Detail: "451", Attempts: 1}))
	require.NoError(t, s.RecordDelivery(ctx, store.Delivery{IncidentID: "incident-1", Channel: "email", Status: "sent", Attempts: 2}))
	d, err := s.GetDelivery(ctx, "incident-1", "email")
	require.NoError(t, err)
	require.Equal(t, "sent", d.Status)
	require.Equal(t, 2, d.Attempts)
	require.False(t, d.At.IsZero())
	_, err = s.GetDelivery(ctx, "incident-1", "slack")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Error(t, s.RecordDelivery(ctx, store.Delivery{Channel: "email"}))
}

func testIncidentPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		require.NoError(t, s.SaveIncident(ctx, store.Incident{WorkflowID: fmt.Sprintf("inc-%d", i), Status: "completed",
			CreatedAt: t0.Add(time.Duration(i) * time.Minute)}))
	}
	page1, err := s.ListIncidents(ctx, store.IncidentFilter{Limit: 2})
	require.NoError(t, err)
	page2, err := s.ListIncidents(ctx, store.IncidentFilter{Limit: 2, Offset: 2})
	require.NoError(t, err)
	page3, err := s.ListIncidents(ctx, store.IncidentFilter{Limit: 2, Offset: 4})
	require.NoError(t, err)
	var ids []string
	for _, p := range [][]store.Incident{page1, page2, page3} {
		for _, in := range p {
			ids = append(ids, in.WorkflowID)
		}
	}
	require.Equal(t, []string{"inc-4", "inc-3", "inc-2", "inc-1", "inc-0"}, ids, "newest first, pages without gaps or repeats")
}

// sampleDeployment returns a valid deployment planned at the given time.
func sampleDeployment(id string, planned time.Time) store.Deployment {
	return store.Deployment{
		ID:           id,
		WorkflowID:   "change-" + id,
		Version:      "1.2.3",
		PlannedAt:    planned,
		Applications: []string{"shop"},
		Status:       "scheduled",
		Gate:         "pending",
		Body:         json.RawMessage(`{"id":"` + id + `"}`),
	}
}

// requireDeployment compares deployments, Body semantically and the
// store-set CreatedAt and UpdatedAt not at all.
func requireDeployment(t *testing.T, want, got store.Deployment) {
	t.Helper()
	requireJSON(t, want.Body, got.Body, want.ID+" Body")
	want.Body, got.Body = nil, nil
	want.CreatedAt, want.UpdatedAt, got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

// deploymentIDs returns the IDs of deployments, in order.
func deploymentIDs(ds []store.Deployment) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func testDeploymentRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := store.Deployment{
		ID:           "dep-1",
		WorkflowID:   "change-dep-1",
		Version:      "v2.4.0",
		PlannedAt:    base(),
		Applications: []string{"checkout", "payments"},
		Status:       "watching",
		Gate:         "proceed",
		State:        "MOSTLY_STABLE",
		Seq:          7,
		Body: json.RawMessage(`{"gate": "proceed", "checkpoints": [{"at": "2025-03-14T13:39:26Z", ` +
			`"verdict": {"state": "MOSTLY_STABLE", "score": 0.82}, "facts": ["p99 +3%"]}], "note": "ünïcode — ok"}`),
		CreatedAt: base().Add(-48 * time.Hour), // ignored: set by the store
		UpdatedAt: base().Add(-48 * time.Hour), // ignored: set by the store
	}
	before := time.Now().Add(-time.Second)
	require.NoError(t, s.SaveDeployment(ctx, d))
	after := time.Now().Add(time.Second)
	got, err := s.GetDeployment(ctx, "dep-1")
	require.NoError(t, err)
	requireUTC(t, got.PlannedAt, "PlannedAt")
	want := d
	want.PlannedAt = norm(d.PlannedAt)
	requireDeployment(t, want, got)
	require.True(t, got.PlannedAt.Equal(norm(base())))
	for what, ts := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
		requireUTC(t, ts, what)
		require.True(t, ts.After(before) && ts.Before(after), "%s = %v", what, ts)
	}
	require.True(t, got.CreatedAt.Equal(got.UpdatedAt), "first insert: CreatedAt %v, UpdatedAt %v", got.CreatedAt, got.UpdatedAt)

	// No applications round-trip as nil; a JSON array body is fine.
	bare := store.Deployment{ID: "dep-2", WorkflowID: "wf-2", PlannedAt: base(), Status: "scheduled",
		Applications: []string{}, Body: json.RawMessage(`[]`)}
	require.NoError(t, s.SaveDeployment(ctx, bare))
	got, err = s.GetDeployment(ctx, "dep-2")
	require.NoError(t, err)
	require.Nil(t, got.Applications)
	require.Equal(t, "", got.Version)
	require.Equal(t, "", got.Gate)
	require.Equal(t, "", got.State)
	require.Zero(t, got.Seq)
	requireJSON(t, json.RawMessage(`[]`), got.Body, "dep-2 Body")

	_, err = s.GetDeployment(ctx, "dep-3")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDeploymentStaleSeq(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := sampleDeployment("dep", base())
	d.Seq, d.Status, d.State = 5, "watching", "STABLE"
	d.Body = json.RawMessage(`{"seq":5}`)
	require.NoError(t, s.SaveDeployment(ctx, d))
	first, err := s.GetDeployment(ctx, "dep")
	require.NoError(t, err)

	stale := d
	stale.Seq, stale.Status, stale.State, stale.Gate = 4, "pre-check", "", "hold"
	stale.Version, stale.Applications, stale.PlannedAt = "0.0.1", []string{"other"}, base().Add(time.Hour)
	stale.Body = json.RawMessage(`{"seq":4}`)
	require.NoError(t, s.SaveDeployment(ctx, stale), "a stale save is not an error")
	got, err := s.GetDeployment(ctx, "dep")
	require.NoError(t, err)
	requireDeployment(t, first, got)
	require.True(t, got.UpdatedAt.Equal(first.UpdatedAt), "a stale save must not touch UpdatedAt")

	newer := d
	newer.Seq, newer.Status, newer.Body = 6, "done", json.RawMessage(`{"seq":6}`)
	require.NoError(t, s.SaveDeployment(ctx, newer))
	got, err = s.GetDeployment(ctx, "dep")
	require.NoError(t, err)
	want := newer
	want.PlannedAt = norm(newer.PlannedAt)
	requireDeployment(t, want, got)
}

func testDeploymentUpsert(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := sampleDeployment("dep", base())
	first.Seq = 3
	require.NoError(t, s.SaveDeployment(ctx, first))
	stored, err := s.GetDeployment(ctx, "dep")
	require.NoError(t, err)

	time.Sleep(5 * time.Millisecond)
	retry := store.Deployment{
		ID: "dep", WorkflowID: "change-dep-2", Version: "1.2.4", PlannedAt: base().Add(30 * time.Minute),
		Applications: []string{"billing"}, Status: "waiting", Gate: "hold", State: "UNSTABLE", Seq: 3,
		Body:      json.RawMessage(`{"retry":true}`),
		CreatedAt: base().Add(24 * time.Hour), // ignored
	}
	require.NoError(t, s.SaveDeployment(ctx, retry))
	got, err := s.GetDeployment(ctx, "dep")
	require.NoError(t, err)
	want := retry
	want.PlannedAt = norm(retry.PlannedAt)
	requireDeployment(t, want, got)
	require.True(t, got.CreatedAt.Equal(stored.CreatedAt), "CreatedAt %v, first insert %v", got.CreatedAt, stored.CreatedAt)
	require.True(t, got.UpdatedAt.After(stored.UpdatedAt), "UpdatedAt %v, first insert %v", got.UpdatedAt, stored.UpdatedAt)

	all, err := s.ListDeployments(ctx, store.DeploymentFilter{})
	require.NoError(t, err)
	require.Equal(t, []string{"dep"}, deploymentIDs(all))
}

func testDeploymentConcurrentSaves(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			d := sampleDeployment("dep", base())
			d.Seq, d.Body = i, json.RawMessage(fmt.Sprintf(`{"seq":%d}`, i))
			errs[i] = s.SaveDeployment(ctx, d)
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "save %d", i)
	}
	got, err := s.GetDeployment(ctx, "dep")
	require.NoError(t, err)
	require.Equal(t, n-1, got.Seq, "the highest Seq wins whatever the order of the saves")
	requireJSON(t, json.RawMessage(fmt.Sprintf(`{"seq":%d}`, n-1)), got.Body, "Body")
}

func testDeploymentInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		field  string
		mutate func(d *store.Deployment)
	}{
		{"ID", func(d *store.Deployment) { d.ID = "" }},
		{"workflow ID", func(d *store.Deployment) { d.WorkflowID = "" }},
		{"status", func(d *store.Deployment) { d.Status = "" }},
		{"planned time", func(d *store.Deployment) { d.PlannedAt = time.Time{} }},
		{"body", func(d *store.Deployment) { d.Body = nil }},
		{"body", func(d *store.Deployment) { d.Body = json.RawMessage(`{"gate":`) }},
	} {
		d := sampleDeployment("dep", base())
		tc.mutate(&d)
		err := s.SaveDeployment(ctx, d)
		require.Error(t, err, tc.field)
		require.Contains(t, err.Error(), tc.field, "the error names the field")
	}
	_, err := s.GetDeployment(ctx, "dep")
	require.ErrorIs(t, err, store.ErrNotFound, "a rejected deployment must not be stored")
}

func testDeploymentList(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := base()
	for _, d := range []store.Deployment{
		{ID: "dep-a", Status: "watching", State: "STABLE", Applications: []string{"shop"}, PlannedAt: b.Add(1 * time.Hour)},
		{ID: "dep-c", Status: "watching", State: "UNSTABLE", Applications: []string{"billing", "shop-api"}, PlannedAt: b.Add(2 * time.Hour)},
		{ID: "dep-b", Status: "done", State: "STABLE", Applications: []string{"shop", "billing"}, PlannedAt: b.Add(2 * time.Hour)},
		{ID: "dep-d", Status: "rolled-back", State: "UNSTABLE", Applications: []string{`sh%p "x"`}, PlannedAt: b},
		{ID: "dep-e", Status: "scheduled", Applications: nil, PlannedAt: b.Add(3 * time.Hour)},
	} {
		d.WorkflowID, d.Body = "change-"+d.ID, json.RawMessage(`{"id":"`+d.ID+`"}`)
		require.NoError(t, s.SaveDeployment(ctx, d))
	}
	for _, tc := range []struct {
		f    store.DeploymentFilter
		want []string
	}{
		{store.DeploymentFilter{}, []string{"dep-e", "dep-b", "dep-c", "dep-a", "dep-d"}},
		{store.DeploymentFilter{Status: "watching"}, []string{"dep-c", "dep-a"}},
		{store.DeploymentFilter{State: "STABLE"}, []string{"dep-b", "dep-a"}},
		{store.DeploymentFilter{Application: "shop"}, []string{"dep-b", "dep-a"}},
		{store.DeploymentFilter{Application: "billing"}, []string{"dep-b", "dep-c"}},
		{store.DeploymentFilter{Application: "shop-api"}, []string{"dep-c"}},
		{store.DeploymentFilter{Application: `sh%p "x"`}, []string{"dep-d"}},
		{store.DeploymentFilter{Application: "sh"}, []string{}},
		{store.DeploymentFilter{Application: "Shop"}, []string{}},
		{store.DeploymentFilter{Application: "shop", State: "STABLE", Status: "done"}, []string{"dep-b"}},
		{store.DeploymentFilter{Application: "billing", State: "UNSTABLE"}, []string{"dep-c"}},
		{store.DeploymentFilter{Status: "watching", Limit: 1}, []string{"dep-c"}},
		{store.DeploymentFilter{Limit: 2, Offset: 1}, []string{"dep-b", "dep-c"}},
		{store.DeploymentFilter{Offset: 10}, []string{}},
		{store.DeploymentFilter{Status: "cancelled"}, []string{}},
	} {
		got, err := s.ListDeployments(ctx, tc.f)
		require.NoError(t, err)
		require.Equal(t, tc.want, deploymentIDs(got), "filter %+v", tc.f)
	}
	got, err := s.ListDeployments(ctx, store.DeploymentFilter{Application: "billing"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{"shop", "billing"}, got[0].Applications)
	require.True(t, got[0].PlannedAt.Equal(norm(b.Add(2*time.Hour))))
	requireUTC(t, got[0].PlannedAt, "PlannedAt")
	requireJSON(t, json.RawMessage(`{"id":"dep-b"}`), got[0].Body, "listed Body")
	require.Equal(t, "change-dep-c", got[1].WorkflowID)
}

func testDeploymentPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		require.NoError(t, s.SaveDeployment(ctx, sampleDeployment(fmt.Sprintf("dep-%d", i), t0.Add(time.Duration(i)*time.Millisecond))))
	}
	var ids []string
	for offset := 0; offset < 6; offset += 2 {
		page, err := s.ListDeployments(ctx, store.DeploymentFilter{Application: "shop", Limit: 2, Offset: offset})
		require.NoError(t, err)
		ids = append(ids, deploymentIDs(page)...)
	}
	require.Equal(t, []string{"dep-4", "dep-3", "dep-2", "dep-1", "dep-0"}, ids,
		"newest first at millisecond resolution, pages without gaps or repeats")
}

func testDeploymentDefaultLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 105 {
		require.NoError(t, s.SaveDeployment(ctx, sampleDeployment(fmt.Sprintf("dep-%03d", i), base().Add(time.Duration(i)*time.Second))))
	}
	got, err := s.ListDeployments(ctx, store.DeploymentFilter{})
	require.NoError(t, err)
	require.Len(t, got, 100, "a zero Limit means 100, as for incidents")
	require.Equal(t, "dep-104", got[0].ID)
	require.Equal(t, "dep-005", got[99].ID)
	got, err = s.ListDeployments(ctx, store.DeploymentFilter{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, got, 105)
}

// testOnceClaim: a key is claimed once until it expires, then again; a released key can be
// claimed again; keys are independent.
func testOnceClaim(t *testing.T, s store.Store) {
	ctx := t.Context()
	later := time.Now().Add(time.Hour)
	first, err := s.ClaimOnce(ctx, "vigil:abc", later)
	require.NoError(t, err)
	require.True(t, first)
	first, err = s.ClaimOnce(ctx, "vigil:abc", later)
	require.NoError(t, err)
	require.False(t, first, "a live claim wins")
	first, err = s.ClaimOnce(ctx, "vigil:abd", later)
	require.NoError(t, err)
	require.True(t, first, "another key")

	require.NoError(t, s.ReleaseOnce(ctx, "vigil:abc"))
	require.NoError(t, s.ReleaseOnce(ctx, "never-claimed"))
	first, err = s.ClaimOnce(ctx, "vigil:abc", later)
	require.NoError(t, err)
	require.True(t, first, "a released key is claimed again")

	first, err = s.ClaimOnce(ctx, "short", time.Now().Add(50*time.Millisecond))
	require.NoError(t, err)
	require.True(t, first)
	time.Sleep(100 * time.Millisecond)
	first, err = s.ClaimOnce(ctx, "short", later)
	require.NoError(t, err)
	require.True(t, first, "an expired claim is taken over")
	first, err = s.ClaimOnce(ctx, "short", later)
	require.NoError(t, err)
	require.False(t, first)

	_, err = s.ClaimOnce(ctx, "", later)
	require.Error(t, err)
	_, err = s.ClaimOnce(ctx, string(make([]byte, 1000)), later)
	require.Error(t, err)
}

// testOnceConcurrent: of many claims of one key at once, exactly one is first.
func testOnceConcurrent(t *testing.T, s store.Store) {
	const n = 16
	var wg sync.WaitGroup
	firsts := make(chan bool, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ClaimOnce(t.Context(), "race", time.Now().Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			firsts <- ok
		}()
	}
	wg.Wait()
	close(firsts)
	won := 0
	for ok := range firsts {
		if ok {
			won++
		}
	}
	require.Equal(t, 1, won)
}

// testOnceBounded: beyond MaxOnceKeys the keys closest to expiry are dropped.
func testOnceBounded(t *testing.T, s store.Store) {
	old := store.MaxOnceKeys
	store.MaxOnceKeys = 10
	t.Cleanup(func() { store.MaxOnceKeys = old })
	base := time.Now().Add(time.Hour)
	for i := range 200 {
		ok, err := s.ClaimOnce(t.Context(), fmt.Sprintf("k%03d", i), base.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, err := s.ClaimOnce(t.Context(), "k000", base)
	require.NoError(t, err)
	require.True(t, ok, "the key closest to expiry was dropped")
	ok, err = s.ClaimOnce(t.Context(), "k199", base)
	require.NoError(t, err)
	require.False(t, ok, "the newest key is kept")
}

func testLLMCallBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var cs []store.LLMCall
	for i := 0; i < 50; i++ {
		cs = append(cs, store.LLMCall{ID: fmt.Sprintf("batch/%02d", i), Time: base.Add(time.Duration(i) * time.Second),
			Client: "c", Role: "r", Provider: "p", Model: "m", WorkflowID: "w", Request: json.RawMessage(`{"model":"m"}`)})
	}
	require.NoError(t, s.RecordLLMCalls(ctx, cs))
	require.NoError(t, s.RecordLLMCalls(ctx, cs[:10]), "idempotent on ID")
	require.NoError(t, s.RecordLLMCalls(ctx, nil))
	got, err := s.ListLLMCalls(ctx, store.LLMCallFilter{WorkflowID: "w", Limit: 1000})
	require.NoError(t, err)
	require.Len(t, got, 50)
	require.Equal(t, "batch/49", got[0].ID)
	require.Equal(t, "ok", got[0].Status)
}

func testRateBudget(t *testing.T, s store.Store) {
	ctx := t.Context()
	// 10 slots a second, one at a time: the first call takes one, the next waits ~100 ms.
	wait, err := s.TakeRate(ctx, "llm/p/m", 100*time.Millisecond, 1)
	require.NoError(t, err)
	require.Zero(t, wait)
	wait, err = s.TakeRate(ctx, "llm/p/m", 100*time.Millisecond, 1)
	require.NoError(t, err)
	require.InDelta(t, float64(100*time.Millisecond), float64(wait), float64(20*time.Millisecond))
	wait2, err := s.TakeRate(ctx, "llm/p/m", 100*time.Millisecond, 1)
	require.NoError(t, err)
	require.LessOrEqual(t, wait2, wait, "a refused call takes nothing")
	time.Sleep(wait2)
	wait, err = s.TakeRate(ctx, "llm/p/m", 100*time.Millisecond, 1)
	require.NoError(t, err)
	require.Zero(t, wait, "the slot came")
	// Another key has its own budget; a burst of 3 takes 3 at once.
	for i := 0; i < 3; i++ {
		wait, err = s.TakeRate(ctx, "llm/p/other", time.Second, 3)
		require.NoError(t, err)
		require.Zero(t, wait, "burst slot %d", i)
	}
	wait, err = s.TakeRate(ctx, "llm/p/other", time.Second, 3)
	require.NoError(t, err)
	require.Positive(t, wait)
	// Concurrent takers never take more than the budget.
	var mu sync.Mutex
	taken := 0
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.TakeRate(ctx, "llm/p/busy", time.Hour, 2)
			if err == nil && w == 0 {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 2, taken)
}

func testRateReserve(t *testing.T, s store.Store) {
	ctx := t.Context()
	const step = 100 * time.Millisecond
	// Free now: taken, no wait. Then each reservation takes the next slot: 100 ms, 200 ms.
	wait, ok, err := s.ReserveRate(ctx, "llm/p/r", step, 1, time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.Zero(t, wait)
	var last time.Duration
	for i := 1; i <= 2; i++ {
		wait, ok, err = s.ReserveRate(ctx, "llm/p/r", step, 1, time.Second)
		require.NoError(t, err)
		require.True(t, ok, "slot %d is within a second", i)
		require.InDelta(t, float64(time.Duration(i)*step), float64(wait), float64(40*time.Millisecond))
		require.Greater(t, wait, last, "each reservation is a later slot")
		last = wait
	}
	// The next slot (~300 ms) is further off than 50 ms: refused, and nothing is taken.
	wait, ok, err = s.ReserveRate(ctx, "llm/p/r", step, 1, 50*time.Millisecond)
	require.NoError(t, err)
	require.False(t, ok)
	require.InDelta(t, float64(3*step), float64(wait), float64(40*time.Millisecond))
	wait2, ok, err := s.ReserveRate(ctx, "llm/p/r", step, 1, time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.InDelta(t, float64(wait), float64(wait2), float64(40*time.Millisecond), "the refused call took nothing")
	// TakeRate reserves nothing ahead: it is refused while the reservations stand.
	w, err := s.TakeRate(ctx, "llm/p/r", step, 1)
	require.NoError(t, err)
	require.Positive(t, w)

	// Concurrent reservations each get a slot of their own: an hour apart.
	var mu sync.Mutex
	slots := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, ok, err := s.ReserveRate(ctx, "llm/p/queue", time.Hour, 1, 24*time.Hour)
			if err == nil && ok {
				mu.Lock()
				slots[int((w+time.Minute)/time.Hour)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, slots, 20, "20 distinct slots: %v", slots)
	for h := 0; h < 20; h++ {
		require.Equal(t, 1, slots[h], "hour %d", h)
	}
}
