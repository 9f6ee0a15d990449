package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned, wrapped, when a requested record does not exist.
// Test for it with errors.Is(err, store.ErrNotFound).
var ErrNotFound = errors.New("not found")

// ErrConflict is returned, wrapped, when a write collides with an existing
// record, for example a role version that already exists.
var ErrConflict = errors.New("conflict")

// defaultLimit is the number of rows returned by list methods when the
// filter's Limit is zero or negative.
const defaultLimit = 100

// Store is Vigil's durable record store. Implementations are safe for
// concurrent use by multiple goroutines.
type Store interface {
	// Ping checks that the underlying database is reachable.
	Ping(ctx context.Context) error
	// Backend names the implementation: "sqlite" or "postgres".
	Backend() string
	// Close releases the database connections. Calling it more than once is
	// harmless.
	Close() error

	// SaveIncident inserts the incident or, if a row with the same
	// WorkflowID exists, replaces every field except CreatedAt, which is kept
	// from the first insert. Zero CreatedAt and UpdatedAt are set to the
	// current time.
	SaveIncident(ctx context.Context, in Incident) error
	// GetIncident returns the incident of a workflow, or ErrNotFound.
	GetIncident(ctx context.Context, workflowID string) (Incident, error)
	// ListIncidents returns matching incidents, newest first (CreatedAt
	// descending, then WorkflowID ascending).
	ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error)

	// PutRoleVersion stores a new immutable version of a role. The store
	// assigns Version as the previous highest version of the code plus one
	// (1 for a new code) atomically; the Version and Deleted fields of rv are
	// ignored. It returns the stored record.
	PutRoleVersion(ctx context.Context, rv RoleVersion) (RoleVersion, error)
	// GetRole returns one version of a role; version 0 means the latest.
	// It returns ErrNotFound if the version does not exist or if version is 0
	// and the latest version is a deletion tombstone.
	GetRole(ctx context.Context, code string, version int) (RoleVersion, error)
	// ListRoles returns the latest version of every role that is not
	// deleted, sorted by code.
	ListRoles(ctx context.Context) ([]RoleVersion, error)
	// ListRoleVersions returns every version of a role, tombstones included,
	// in ascending version order, or ErrNotFound if the code never existed.
	ListRoleVersions(ctx context.Context, code string) ([]RoleVersion, error)
	// DeleteRole appends a tombstone version (Deleted=true) so the history is
	// kept. It returns ErrNotFound if the role does not exist or is already
	// deleted.
	DeleteRole(ctx context.Context, code, author string) error

	// RecordLLMCall appends an entry to the LLM usage log. It is idempotent
	// on c.ID: recording an ID that already exists is a no-op. A zero Time is
	// set to the current time; an empty Status becomes "error" when Error is
	// set and "ok" otherwise.
	RecordLLMCall(ctx context.Context, c LLMCall) error
	// RecordLLMCalls records many entries, as RecordLLMCall does each, in one transaction (the
	// synchronous gateway's group commit).
	RecordLLMCalls(ctx context.Context, cs []LLMCall) error
	// ListLLMCalls returns matching calls, newest first (Time descending,
	// then ID ascending).
	ListLLMCalls(ctx context.Context, f LLMCallFilter) ([]LLMCall, error)
	// UsageSummary aggregates matching calls per client, role, provider and
	// model, sorted by those columns. The filter's Limit is ignored.
	UsageSummary(ctx context.Context, f LLMCallFilter) ([]UsageRow, error)

	// PutAPIKey stores an API key, or replaces Client, Org and Scopes of the
	// key with the same hash (CreatedAt is kept). k.Hash must be the value
	// returned by HashAPIKey; the raw key is never stored.
	PutAPIKey(ctx context.Context, k APIKey) error
	// LookupAPIKey returns the key with the given hash, or ErrNotFound.
	LookupAPIKey(ctx context.Context, hash string) (APIKey, error)

	// Deliveries: one record per incident and channel, so a retried or replayed delivery
	// step sends once. RecordDelivery inserts or replaces the record.
	RecordDelivery(ctx context.Context, d Delivery) error
	// GetDelivery returns the record of an incident's channel, or ErrNotFound.
	GetDelivery(ctx context.Context, incidentID, channel string) (Delivery, error)

	// SaveDeployment inserts the deployment or, if a row with the same ID
	// exists, replaces every field except CreatedAt, which is kept from the
	// first insert. A save whose Seq is lower than the stored row's is
	// ignored and returns nil (a stale retry or replay); an equal Seq
	// overwrites. The store sets CreatedAt on insert and UpdatedAt on every
	// applied save; the caller's values are ignored.
	SaveDeployment(ctx context.Context, d Deployment) error
	// GetDeployment returns the deployment with the given ID, or ErrNotFound.
	GetDeployment(ctx context.Context, id string) (Deployment, error)
	// ListDeployments returns matching deployments, Body included, newest
	// first (PlannedAt descending, then ID ascending).
	ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error)

	// ClaimOnce records key until expires and reports whether this claim is the first: false
	// when an earlier claim of the same key has not expired yet. It is atomic across every
	// process sharing the database (the replay guard of signed webhooks). Expired keys are
	// deleted as new ones are claimed, and at most about MaxOnceKeys are kept: beyond that
	// the keys closest to expiry are dropped first.
	ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error)
	// ReleaseOnce deletes a claimed key (work that failed may be retried); an unknown key is
	// not an error.
	ReleaseOnce(ctx context.Context, key string) error

	// TakeRate takes one slot of the rate budget named key: a GCRA row (generic cell rate
	// algorithm) whose slots come every interval, of which up to burst may be taken at once. It
	// returns 0 when the slot was taken, else how long until one is free (nothing is taken
	// then). One atomic statement per call, so every process sharing the database takes from
	// the same budget; their clocks must agree (NTP): a skew shifts a process's view of it.
	TakeRate(ctx context.Context, key string, interval time.Duration, burst int) (time.Duration, error)
	// ReserveRate is TakeRate that may also take a slot ahead: when no slot is free now but the
	// next one comes within `within`, it is taken (reserved) for the caller, who waits the
	// returned time and then calls without taking again. It returns the wait until the slot taken
	// and true (0: free now), or, when the next slot is further off, the wait until it and false
	// (nothing is taken). Callers that are refused together and come back together collide again;
	// reserved slots are each caller's own. A caller that gives up after reserving wastes its slot.
	ReserveRate(ctx context.Context, key string, interval time.Duration, burst int, within time.Duration) (time.Duration, bool, error)
}

// MaxOnceKeys bounds the keys ClaimOnce keeps. Only authenticated requests claim keys, each
// for its replay window, so reaching it takes about 160 signed requests a second for ten
// minutes; a variable so that tests can lower it.
var MaxOnceKeys = 100_000

// onceEvictEvery is how many first claims pass between two checks of MaxOnceKeys (the check
// counts the table, so it is not run on every claim).
const onceEvictEvery = 64

// maxOnceKeyBytes bounds one key (callers hash what they key on).
const maxOnceKeyBytes = 512

func checkOnceKey(key string) error {
	if key == "" || len(key) > maxOnceKeyBytes {
		return fmt.Errorf("store: once key must be 1 to %d bytes, got %d", maxOnceKeyBytes, len(key))
	}
	return nil
}

// Incident is the durable record of one IncidentWorkflow, keyed by workflow ID.
type Incident struct {
	WorkflowID  string
	RunID       string
	AlertName   string
	Application string
	Severity    string
	Status      string // "running", "completed", "failed", "resolved"
	Language    string
	Report      string          // the rendered report text
	Alert       json.RawMessage // the (masked) alert payload as received; may be nil
	Details     json.RawMessage // extra structured data (facts, which role link answered, ...); may be nil
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// IncidentFilter selects incidents in ListIncidents. Empty fields do not
// filter; a Limit of zero means 100.
type IncidentFilter struct {
	Status      string
	Application string
	Limit       int
	// Offset skips that many incidents of the ordered list (paging).
	Offset int
}

// Deployment is the durable record of one deployment's change tracking, keyed by deployment ID.
type Deployment struct {
	ID           string          // deployment ID (primary key), required
	WorkflowID   string          // required
	Version      string          // the deployed version
	PlannedAt    time.Time       // required (non-zero)
	Applications []string        // application names, for filtering; empty comes back nil
	Status       string          // scheduled, pre-check, waiting, watching, done, rolled-back, cancelled; required
	Gate         string          // pending, proceed, hold
	State        string          // latest verdict state: STABLE, MOSTLY_STABLE, UNSTABLE, or ""
	Seq          int             // a save whose Seq is lower than the stored row's is ignored (stale retry/replay)
	Body         json.RawMessage // the whole deployment state as JSON (must be valid JSON; required)
	CreatedAt    time.Time       // set by the store on first insert
	UpdatedAt    time.Time       // set by the store on every applied save
}

// DeploymentFilter selects deployments in ListDeployments. Empty fields do
// not filter; a Limit of zero means 100, as in IncidentFilter.
type DeploymentFilter struct {
	Application string // exact application name: deployments whose Applications contain it
	State       string // exact latest verdict state
	Status      string // exact status
	// Offset skips that many deployments of the ordered list (paging).
	Offset int
	Limit  int
}

// RoleVersion is one immutable version of a role definition.
type RoleVersion struct {
	Code      string
	Version   int
	Spec      json.RawMessage // the role definition as JSON, opaque to the store
	Author    string
	Comment   string
	Deleted   bool
	CreatedAt time.Time // set by the store if zero
}

// Delivery is the state of one incident's notification on one channel.
type Delivery struct {
	IncidentID string
	Channel    string
	Status     string // "sent" or "failed"
	Detail     string
	Attempts   int
	At         time.Time // set by the store if zero
}

// LLMCall is one entry of the LLM usage log.
type LLMCall struct {
	ID           string // idempotency key (workflow ID + activity ID + attempt), unique
	Time         time.Time
	Client       string
	Role         string
	RoleVersion  int
	Provider     string
	Model        string
	Subject      string
	Request      json.RawMessage // masked request (messages, parameters)
	Response     string          // masked answer text
	Status       string          // "ok" or "error"
	Error        string
	LatencyMS    int64
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	WorkflowID   string
	Attempt      int
	RunID        string // the workflow run
	ErrorClass   string // failure class of an error (rate_limited, server_error, bad_answer, ...)
	Reused       bool   // the answer of an earlier call was returned (rate-limit interval)
}

// LLMCallFilter selects LLM calls in ListLLMCalls and UsageSummary. Zero
// fields do not filter. Since is inclusive and Until exclusive; like stored
// times, both are truncated to microseconds. A Limit of zero means 100.
type LLMCallFilter struct {
	Client, Role, Provider, Model, WorkflowID string
	Since, Until                              time.Time
	Limit                                     int
}

// UsageRow is the aggregate of the LLM calls of one client, role, provider
// and model. Errors counts calls with Status "error".
type UsageRow struct {
	Client, Role, Provider, Model            string
	Calls, Errors, InputTokens, OutputTokens int64
	CostUSD                                  float64
	AvgLatencyMS                             float64
}

// APIKey is an API key as stored: only the SHA-256 hash of the raw key is kept.
type APIKey struct {
	Hash      string
	Client    string
	Org       string
	Scopes    []string
	CreatedAt time.Time
}

// HashAPIKey returns the lowercase hex SHA-256 digest of a raw API key, the
// form in which keys are stored and looked up.
func HashAPIKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Open opens the store named by dsn and applies pending migrations.
// "postgres://..." and "postgresql://..." select PostgreSQL; "sqlite:PATH",
// "file:PATH", ":memory:" and bare paths ending in .db, .sqlite or .sqlite3
// select SQLite.
func Open(ctx context.Context, dsn string) (Store, error) {
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return OpenPostgres(ctx, dsn)
	case strings.HasPrefix(lower, "sqlite:"):
		return OpenSQLite(ctx, trimSlashes(dsn[len("sqlite:"):]))
	case strings.HasPrefix(lower, "file:"):
		return OpenSQLite(ctx, trimSlashes(dsn[len("file:"):]))
	case dsn == ":memory:",
		strings.HasSuffix(lower, ".db"),
		strings.HasSuffix(lower, ".sqlite"),
		strings.HasSuffix(lower, ".sqlite3"):
		return OpenSQLite(ctx, dsn)
	}
	scheme := "none"
	if i := strings.Index(dsn, ":"); i > 0 {
		scheme = dsn[:i] // never echo the rest: it may hold credentials
	}
	return nil, fmt.Errorf("store: unsupported DSN (scheme %q): want postgres://, postgresql://, sqlite:PATH, file:PATH or a path ending in .db", scheme)
}

// trimSlashes turns the URL forms "//host/path" (only an empty host is
// meaningful) into a plain path: "sqlite:///tmp/x.db" -> "/tmp/x.db".
func trimSlashes(p string) string {
	if strings.HasPrefix(p, "//") {
		return p[2:]
	}
	return p
}

// utc normalises a timestamp to the precision both backends keep.
func utc(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// now returns the current time normalised with utc.
func now() time.Time {
	return utc(time.Now())
}

// limitOrDefault maps a non-positive limit to defaultLimit.
func limitOrDefault(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return n
}

// checkJSON reports an error if raw is non-empty and not valid JSON.
func checkJSON(what string, raw json.RawMessage) error {
	if len(raw) > 0 && !json.Valid(raw) {
		return fmt.Errorf("store: %s is not valid JSON", what)
	}
	return nil
}

// nilIfEmpty maps an empty JSON document to nil so it is stored as NULL.
func nilIfEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

// prepareIncident validates in and fills defaults before a write.
func prepareIncident(in Incident) (Incident, error) {
	if in.WorkflowID == "" {
		return in, errors.New("store: incident workflow ID is empty")
	}
	if err := checkJSON("incident alert", in.Alert); err != nil {
		return in, err
	}
	if err := checkJSON("incident details", in.Details); err != nil {
		return in, err
	}
	t := now()
	if in.CreatedAt.IsZero() {
		in.CreatedAt = t
	}
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = t
	}
	in.CreatedAt, in.UpdatedAt = utc(in.CreatedAt), utc(in.UpdatedAt)
	in.Alert, in.Details = nilIfEmpty(in.Alert), nilIfEmpty(in.Details)
	return in, nil
}

// prepareDeployment validates d and sets the timestamps before a write.
// CreatedAt is only used if the row is new.
func prepareDeployment(d Deployment) (Deployment, error) {
	switch {
	case d.ID == "":
		return d, errors.New("store: deployment ID is empty")
	case d.WorkflowID == "":
		return d, fmt.Errorf("store: deployment %q: workflow ID is empty", d.ID)
	case d.Status == "":
		return d, fmt.Errorf("store: deployment %q: status is empty", d.ID)
	case d.PlannedAt.IsZero():
		return d, fmt.Errorf("store: deployment %q: planned time is zero", d.ID)
	case len(d.Body) == 0:
		return d, fmt.Errorf("store: deployment %q: body is empty", d.ID)
	}
	if err := checkJSON(fmt.Sprintf("deployment %q body", d.ID), d.Body); err != nil {
		return d, err
	}
	if len(d.Applications) == 0 {
		d.Applications = nil
	}
	t := now()
	d.PlannedAt, d.CreatedAt, d.UpdatedAt = utc(d.PlannedAt), t, t
	return d, nil
}

// prepareRoleVersion validates rv and fills defaults before a write. The
// version number is assigned later, inside the write transaction.
func prepareRoleVersion(rv RoleVersion) (RoleVersion, error) {
	if rv.Code == "" {
		return rv, errors.New("store: role code is empty")
	}
	if err := checkJSON("role spec", rv.Spec); err != nil {
		return rv, err
	}
	if rv.CreatedAt.IsZero() {
		rv.CreatedAt = now()
	}
	rv.CreatedAt = utc(rv.CreatedAt)
	rv.Spec = nilIfEmpty(rv.Spec)
	rv.Version, rv.Deleted = 0, false
	return rv, nil
}

// prepareLLMCall validates c and fills defaults before a write.
func prepareLLMCall(c LLMCall) (LLMCall, error) {
	if c.ID == "" {
		return c, errors.New("store: LLM call ID is empty")
	}
	if err := checkJSON("LLM call request", c.Request); err != nil {
		return c, err
	}
	if c.Time.IsZero() {
		c.Time = now()
	}
	c.Time = utc(c.Time)
	if c.Status == "" {
		c.Status = "ok"
		if c.Error != "" {
			c.Status = "error"
		}
	}
	c.Request = nilIfEmpty(c.Request)
	return c, nil
}

// prepareAPIKey validates k and fills defaults before a write.
func prepareAPIKey(k APIKey) (APIKey, error) {
	if !validHash(k.Hash) {
		return k, errors.New("store: API key hash must be the 64-character lowercase hex SHA-256 from HashAPIKey")
	}
	if k.Client == "" {
		return k, errors.New("store: API key client is empty")
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now()
	}
	k.CreatedAt = utc(k.CreatedAt)
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	return k, nil
}

// validHash reports whether h looks like a HashAPIKey result.
func validHash(h string) bool {
	if len(h) != sha256.Size*2 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// where accumulates SQL conditions and their arguments, with $N placeholders.
type where struct {
	conds []string
	args  []any
}

// placeholder returns the placeholder of the last argument.
func (w *where) placeholder() string {
	return "$" + strconv.Itoa(len(w.args))
}

// addf appends a condition written with one %s for the placeholder of arg.
func (w *where) addf(format string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, fmt.Sprintf(format, w.placeholder()))
}

// add appends the condition "column op <placeholder>".
func (w *where) add(column, op string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, column+" "+op+" "+w.placeholder())
}

// next returns the placeholder for an extra argument appended after the
// conditions (such as a LIMIT) and records the argument.
func (w *where) next(arg any) string {
	w.args = append(w.args, arg)
	return w.placeholder()
}

// sql renders the WHERE clause, or "" when there are no conditions.
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// incidentWhere builds the WHERE clause for f.
func incidentWhere(f IncidentFilter) *where {
	w := &where{}
	if f.Status != "" {
		w.add("status", "=", f.Status)
	}
	if f.Application != "" {
		w.add("application", "=", f.Application)
	}
	return w
}

// deploymentWhere builds the WHERE clause for f.
func deploymentWhere(d dialect, f DeploymentFilter) *where {
	w := &where{}
	if f.Status != "" {
		w.add("status", "=", f.Status)
	}
	if f.State != "" {
		w.add("state", "=", f.State)
	}
	if f.Application != "" {
		w.addf(d.hasApplication, f.Application)
	}
	return w
}

// llmCallWhere builds the WHERE clause for f.
func llmCallWhere(f LLMCallFilter) *where {
	w := &where{}
	for _, c := range []struct{ col, val string }{
		{"client", f.Client},
		{"role", f.Role},
		{"provider", f.Provider},
		{"model", f.Model},
		{"workflow_id", f.WorkflowID},
	} {
		if c.val != "" {
			w.add(c.col, "=", c.val)
		}
	}
	if !f.Since.IsZero() {
		w.add("ts", ">=", utc(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("ts", "<", utc(f.Until))
	}
	return w
}

// Column lists of the tables, in the order of their INSERT and SELECT statements.
const (
	incidentColumns   = "workflow_id, run_id, alert_name, application, severity, status, language, report, alert, details, created_at, updated_at"
	roleColumns       = "code, version, spec, author, comment, deleted, created_at"
	llmCallColumns    = "id, ts, client, role, role_version, provider, model, subject, request, response, status, error, latency_ms, input_tokens, output_tokens, cost_usd, workflow_id, attempt, run_id, error_class, reused"
	apiKeyColumns     = "hash, client, org, scopes, created_at"
	deploymentColumns = "id, workflow_id, version, planned_at, applications, status, gate, state, seq, body, created_at, updated_at"
)
