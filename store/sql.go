package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// sqlStore is the one implementation of Store, over database/sql: PostgreSQL through pgx's
// stdlib driver, SQLite through modernc.org/sqlite. Statements are written once with $N
// placeholders, which both accept; what really differs is in its dialect.
type sqlStore struct {
	d dialect
	w *sql.DB // writes and transactions
	r *sql.DB // reads: the same pool as w, except for a SQLite file (see OpenSQLite)
	// onceClaims counts first claims, to check MaxOnceKeys every onceEvictEvery of them.
	onceClaims atomic.Int64
}

// dialect is what differs between the two databases.
type dialect struct {
	name  string // Backend() and the directory of the migrations
	title string // the database in messages
	// migrationsTable creates the table of applied migrations if it is missing.
	migrationsTable string
	// lockMigrations runs first in the migration transaction, so that processes starting
	// together apply them once; lockRole runs first in a role write, with the code as $1,
	// so that a role's versions are numbered one after another. Empty: no statement (SQLite
	// writes run one at a time on one connection, in transactions that begin IMMEDIATE).
	lockMigrations, lockRole string
	// hasApplication is a condition, with one %s for the placeholder of a name, true when
	// the deployment's applications column contains it.
	hasApplication string
	// noLimit is the LIMIT that lets an OFFSET stand alone.
	noLimit string
	// greatest is the function that returns the larger of two values.
	greatest string
	// arg converts an argument whose column type differs (time.Time, []string) to the value
	// that column holds, and returns any other argument as it is.
	arg func(v any) any
	// isUniqueViolation reports whether err is a primary key or unique constraint failure.
	isUniqueViolation func(err error) bool
}

// newSQLStore pings w and applies pending migrations; where names the database in the
// error of a failed ping. On failure it closes both pools.
func newSQLStore(ctx context.Context, d dialect, w, r *sql.DB, where string) (*sqlStore, error) {
	s := &sqlStore{d: d, w: w, r: r}
	err := w.PingContext(ctx)
	if err != nil {
		err = fmt.Errorf("store: %s: %w", where, err)
	} else {
		err = s.migrate(ctx)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// args converts arguments for the dialect in place: empty JSON documents become NULL and
// the others text, then the dialect's own conversions apply.
func (s *sqlStore) args(args []any) []any {
	for i, a := range args {
		if raw, ok := a.(json.RawMessage); ok {
			a = nil
			if len(raw) > 0 {
				a = string(raw)
			}
		}
		args[i] = s.d.arg(a)
	}
	return args
}

// exec runs a write statement.
func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.w.ExecContext(ctx, q, s.args(args)...)
}

// queryRow runs a read statement that returns at most one row.
func (s *sqlStore) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.r.QueryRowContext(ctx, q, s.args(args)...)
}

// queryAll runs a read statement and scans every row with scan. It returns a non-nil slice.
func queryAll[T any](ctx context.Context, s *sqlStore, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.r.QueryContext(ctx, q, s.args(args)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]T, 0)
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// writeTx runs fn in a transaction on the writer, after lock (with lockArgs) when the
// dialect has one.
func (s *sqlStore) writeTx(ctx context.Context, lock string, lockArgs []any, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if lock != "" {
		if _, err := tx.ExecContext(ctx, lock, lockArgs...); err != nil {
			return fmt.Errorf("take lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// migrate applies pending migrations in one transaction.
func (s *sqlStore) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.d.name)
	if err != nil {
		return err
	}
	err = s.writeTx(ctx, s.d.lockMigrations, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.migrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		applied, err := appliedVersions(ctx, tx)
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			// Without arguments both drivers accept several statements at once.
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				s.args([]any{m.version, now()})...); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// appliedVersions returns the set of versions in schema_migrations.
func appliedVersions(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := make(map[int]bool)
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// Ping implements Store.
func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.title, err)
	}
	return nil
}

// Backend implements Store.
func (s *sqlStore) Backend() string { return s.d.name }

// Close implements Store. Closing a sql.DB twice is harmless.
func (s *sqlStore) Close() error {
	var err error
	if s.r != s.w {
		err = s.r.Close()
	}
	return errors.Join(err, s.w.Close())
}

// SaveIncident implements Store.
func (s *sqlStore) SaveIncident(ctx context.Context, in Incident) error {
	in, err := prepareIncident(in)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO incidents (`+incidentColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (workflow_id) DO UPDATE SET
	run_id = excluded.run_id,
	alert_name = excluded.alert_name,
	application = excluded.application,
	severity = excluded.severity,
	status = excluded.status,
	language = excluded.language,
	report = excluded.report,
	alert = excluded.alert,
	details = excluded.details,
	updated_at = excluded.updated_at`,
		in.WorkflowID, in.RunID, in.AlertName, in.Application, in.Severity, in.Status, in.Language, in.Report,
		in.Alert, in.Details, in.CreatedAt, in.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: save incident %q: %w", in.WorkflowID, err)
	}
	return nil
}

// GetIncident implements Store.
func (s *sqlStore) GetIncident(ctx context.Context, workflowID string) (Incident, error) {
	in, err := scanIncident(s.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE workflow_id = $1`, workflowID))
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("store: incident %q: %w", workflowID, ErrNotFound)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident %q: %w", workflowID, err)
	}
	return in, nil
}

// ListIncidents implements Store.
func (s *sqlStore) ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	w := incidentWhere(f)
	q := `SELECT ` + incidentColumns + ` FROM incidents` + w.sql() +
		` ORDER BY created_at DESC, workflow_id LIMIT ` + w.next(limitOrDefault(f.Limit)) + ` OFFSET ` + w.next(max(f.Offset, 0))
	out, err := queryAll(ctx, s, scanIncident, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	return out, nil
}

// PutRoleVersion implements Store.
func (s *sqlStore) PutRoleVersion(ctx context.Context, rv RoleVersion) (RoleVersion, error) {
	rv, err := prepareRoleVersion(rv)
	if err != nil {
		return RoleVersion{}, err
	}
	err = s.writeTx(ctx, s.d.lockRole, []any{rv.Code}, func(tx *sql.Tx) error {
		var latest int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM role_versions WHERE code = $1`,
			rv.Code).Scan(&latest); err != nil {
			return err
		}
		rv.Version = latest + 1
		return s.insertRole(ctx, tx, rv)
	})
	if err != nil {
		return RoleVersion{}, fmt.Errorf("store: put role %q: %w", rv.Code, err)
	}
	return rv, nil
}

// DeleteRole implements Store.
func (s *sqlStore) DeleteRole(ctx context.Context, code, author string) error {
	err := s.writeTx(ctx, s.d.lockRole, []any{code}, func(tx *sql.Tx) error {
		var latest int
		var deleted bool
		err := tx.QueryRowContext(ctx, `SELECT version, deleted FROM role_versions WHERE code = $1 ORDER BY version DESC LIMIT 1`,
			code).Scan(&latest, &deleted)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return s.insertRole(ctx, tx, RoleVersion{
			Code: code, Version: latest + 1, Author: author, Deleted: true, CreatedAt: now(),
		})
	})
	if err != nil {
		return fmt.Errorf("store: delete role %q: %w", code, err)
	}
	return nil
}

// insertRole inserts one role version row, mapping a duplicate key to ErrConflict.
func (s *sqlStore) insertRole(ctx context.Context, tx *sql.Tx, rv RoleVersion) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO role_versions (`+roleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.args([]any{rv.Code, rv.Version, rv.Spec, rv.Author, rv.Comment, rv.Deleted, rv.CreatedAt})...)
	if s.d.isUniqueViolation(err) {
		return fmt.Errorf("version %d already exists: %w", rv.Version, ErrConflict)
	}
	return err
}

// GetRole implements Store.
func (s *sqlStore) GetRole(ctx context.Context, code string, version int) (RoleVersion, error) {
	var row *sql.Row
	if version == 0 {
		row = s.queryRow(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = $1 ORDER BY version DESC LIMIT 1`, code)
	} else {
		row = s.queryRow(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = $1 AND version = $2`, code, version)
	}
	rv, err := scanRole(row)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && version == 0 && rv.Deleted) {
		return RoleVersion{}, fmt.Errorf("store: role %q version %d: %w", code, version, ErrNotFound)
	}
	if err != nil {
		return RoleVersion{}, fmt.Errorf("store: get role %q version %d: %w", code, version, err)
	}
	return rv, nil
}

// ListRoles implements Store.
func (s *sqlStore) ListRoles(ctx context.Context) ([]RoleVersion, error) {
	out, err := queryAll(ctx, s, scanRole, `SELECT `+roleColumns+` FROM role_versions r
WHERE r.version = (SELECT MAX(l.version) FROM role_versions l WHERE l.code = r.code) AND NOT r.deleted
ORDER BY r.code`)
	if err != nil {
		return nil, fmt.Errorf("store: list roles: %w", err)
	}
	return out, nil
}

// ListRoleVersions implements Store.
func (s *sqlStore) ListRoleVersions(ctx context.Context, code string) ([]RoleVersion, error) {
	out, err := queryAll(ctx, s, scanRole, `SELECT `+roleColumns+` FROM role_versions WHERE code = $1 ORDER BY version`, code)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of role %q: %w", code, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: role %q: %w", code, ErrNotFound)
	}
	return out, nil
}

// RecordLLMCall implements Store.
func (s *sqlStore) RecordLLMCall(ctx context.Context, c LLMCall) error {
	c, err := prepareLLMCall(c)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO llm_calls (`+llmCallColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Time, c.Client, c.Role, c.RoleVersion, c.Provider, c.Model, c.Subject,
		c.Request, c.Response, c.Status, c.Error, c.LatencyMS, c.InputTokens, c.OutputTokens,
		c.CostUSD, c.WorkflowID, c.Attempt, c.RunID, c.ErrorClass, c.Reused)
	if err != nil {
		return fmt.Errorf("store: record LLM call %q: %w", c.ID, err)
	}
	return nil
}

// RecordLLMCalls implements Store.
func (s *sqlStore) RecordLLMCalls(ctx context.Context, cs []LLMCall) error {
	if len(cs) == 0 {
		return nil
	}
	return s.writeTx(ctx, "", nil, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO llm_calls (`+llmCallColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("store: record LLM calls: %w", err)
		}
		defer stmt.Close()
		for _, c := range cs {
			c, err := prepareLLMCall(c)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, s.args([]any{c.ID, c.Time, c.Client, c.Role, c.RoleVersion, c.Provider, c.Model, c.Subject,
				c.Request, c.Response, c.Status, c.Error, c.LatencyMS, c.InputTokens, c.OutputTokens,
				c.CostUSD, c.WorkflowID, c.Attempt, c.RunID, c.ErrorClass, c.Reused})...); err != nil {
				return fmt.Errorf("store: record LLM call %q: %w", c.ID, err)
			}
		}
		return nil
	})
}

// TakeRate implements Store (ReserveRate reserving nothing ahead).
func (s *sqlStore) TakeRate(ctx context.Context, key string, interval time.Duration, burst int) (time.Duration, error) {
	wait, _, err := s.ReserveRate(ctx, key, interval, burst, 0)
	return wait, err
}

// ReserveRate implements Store: one upsert computes the row's new theoretical arrival time (tat,
// in microseconds) and whether the slot was taken, both from the row's old values. A slot is
// taken when it is free within `within` of now; the wait is until the slot taken (or, when none
// was, until the next one).
func (s *sqlStore) ReserveRate(ctx context.Context, key string, interval time.Duration, burst int, within time.Duration) (time.Duration, bool, error) {
	if key == "" || interval <= 0 {
		return 0, false, fmt.Errorf("store: rate budget needs a key and a positive interval")
	}
	if burst < 1 {
		burst = 1
	}
	now := time.Now().UnixMicro()
	step := interval.Microseconds()
	tau := step * int64(burst-1)
	ahead := tau + max(within, 0).Microseconds()
	g := s.d.greatest
	var tat int64
	var taken bool
	err := s.w.QueryRowContext(ctx, `INSERT INTO rate_budgets (key, tat, taken) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT), TRUE)
ON CONFLICT (key) DO UPDATE SET
  taken = `+g+`(rate_budgets.tat, CAST($2 AS BIGINT)) - CAST($2 AS BIGINT) <= CAST($4 AS BIGINT),
  tat = CASE WHEN `+g+`(rate_budgets.tat, CAST($2 AS BIGINT)) - CAST($2 AS BIGINT) <= CAST($4 AS BIGINT)
             THEN `+g+`(rate_budgets.tat, CAST($2 AS BIGINT)) + CAST($3 AS BIGINT) ELSE rate_budgets.tat END
RETURNING tat, taken`, key, now, step, ahead).Scan(&tat, &taken)
	if err != nil {
		return 0, false, fmt.Errorf("store: take rate budget %q: %w", key, err)
	}
	if taken {
		// The slot taken is the one before the new tat: free now (burst room left), or ahead.
		return time.Duration(max(0, tat-step-now-tau)) * time.Microsecond, true, nil
	}
	return time.Duration(tat-now-tau) * time.Microsecond, false, nil
}

// ListLLMCalls implements Store.
func (s *sqlStore) ListLLMCalls(ctx context.Context, f LLMCallFilter) ([]LLMCall, error) {
	w := llmCallWhere(f)
	q := `SELECT ` + llmCallColumns + ` FROM llm_calls` + w.sql() +
		` ORDER BY ts DESC, id LIMIT ` + w.next(limitOrDefault(f.Limit))
	out, err := queryAll(ctx, s, scanLLMCall, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list LLM calls: %w", err)
	}
	return out, nil
}

// UsageSummary implements Store.
func (s *sqlStore) UsageSummary(ctx context.Context, f LLMCallFilter) ([]UsageRow, error) {
	w := llmCallWhere(f)
	// The casts keep PostgreSQL's numeric aggregates in Go-friendly types and are harmless
	// in SQLite.
	q := `SELECT client, role, provider, model,
	COUNT(*),
	CAST(COALESCE(SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0) AS BIGINT),
	CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION),
	CAST(COALESCE(AVG(latency_ms), 0) AS DOUBLE PRECISION)
FROM llm_calls` + w.sql() + `
GROUP BY client, role, provider, model
ORDER BY client, role, provider, model`
	out, err := queryAll(ctx, s, func(r scanner) (UsageRow, error) {
		var u UsageRow
		err := r.Scan(&u.Client, &u.Role, &u.Provider, &u.Model, &u.Calls, &u.Errors,
			&u.InputTokens, &u.OutputTokens, &u.CostUSD, &u.AvgLatencyMS)
		return u, err
	}, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	return out, nil
}

// PutAPIKey implements Store.
func (s *sqlStore) PutAPIKey(ctx context.Context, k APIKey) error {
	k, err := prepareAPIKey(k)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (hash) DO UPDATE SET client = excluded.client, org = excluded.org, scopes = excluded.scopes`,
		k.Hash, k.Client, k.Org, k.Scopes, k.CreatedAt)
	if err != nil {
		return fmt.Errorf("store: put API key for client %q: %w", k.Client, err)
	}
	return nil
}

// LookupAPIKey implements Store.
func (s *sqlStore) LookupAPIKey(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	err := s.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.Hash, &k.Client, &k.Org, (*listCol)(&k.Scopes), (*timeCol)(&k.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, fmt.Errorf("store: API key: %w", ErrNotFound)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: look up API key: %w", err)
	}
	return k, nil
}

// RecordDelivery implements Store.
func (s *sqlStore) RecordDelivery(ctx context.Context, d Delivery) error {
	if d.IncidentID == "" || d.Channel == "" {
		return errors.New("store: record delivery: incident ID and channel are required")
	}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	_, err := s.exec(ctx, `INSERT INTO deliveries (incident_id, channel, status, detail, attempts, at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (incident_id, channel) DO UPDATE SET status = excluded.status, detail = excluded.detail,
  attempts = excluded.attempts, at = excluded.at`,
		d.IncidentID, d.Channel, d.Status, d.Detail, d.Attempts, utc(d.At))
	if err != nil {
		return fmt.Errorf("store: record delivery %s/%s: %w", d.IncidentID, d.Channel, err)
	}
	return nil
}

// GetDelivery implements Store.
func (s *sqlStore) GetDelivery(ctx context.Context, incidentID, channel string) (Delivery, error) {
	d := Delivery{IncidentID: incidentID, Channel: channel}
	err := s.queryRow(ctx, `SELECT status, detail, attempts, at FROM deliveries WHERE incident_id = $1 AND channel = $2`,
		incidentID, channel).Scan(&d.Status, &d.Detail, &d.Attempts, (*timeCol)(&d.At))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("store: delivery %s/%s: %w", incidentID, channel, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: get delivery: %w", err)
	}
	return d, nil
}

// SaveDeployment implements Store.
func (s *sqlStore) SaveDeployment(ctx context.Context, d Deployment) error {
	d, err := prepareDeployment(d)
	if err != nil {
		return err
	}
	// The update applies only when the new Seq is not lower than the stored one, so a stale
	// retry or replay changes nothing; created_at is never updated.
	_, err = s.exec(ctx, `INSERT INTO deployments (`+deploymentColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE SET
	workflow_id = excluded.workflow_id,
	version = excluded.version,
	planned_at = excluded.planned_at,
	applications = excluded.applications,
	status = excluded.status,
	gate = excluded.gate,
	state = excluded.state,
	seq = excluded.seq,
	body = excluded.body,
	updated_at = excluded.updated_at
WHERE deployments.seq <= excluded.seq`,
		d.ID, d.WorkflowID, d.Version, d.PlannedAt, d.Applications, d.Status, d.Gate, d.State, d.Seq,
		d.Body, d.CreatedAt, d.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: save deployment %q: %w", d.ID, err)
	}
	return nil
}

// GetDeployment implements Store.
func (s *sqlStore) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	d, err := scanDeployment(s.queryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, fmt.Errorf("store: deployment %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Deployment{}, fmt.Errorf("store: get deployment %q: %w", id, err)
	}
	return d, nil
}

// ListDeployments implements Store.
func (s *sqlStore) ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error) {
	w := deploymentWhere(s.d, f)
	q := `SELECT ` + deploymentColumns + ` FROM deployments` + w.sql() +
		` ORDER BY planned_at DESC, id LIMIT ` + w.next(limitOrDefault(f.Limit)) + ` OFFSET ` + w.next(max(f.Offset, 0))
	out, err := queryAll(ctx, s, scanDeployment, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list deployments: %w", err)
	}
	return out, nil
}

// ClaimOnce implements Store.
func (s *sqlStore) ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if err := checkOnceKey(key); err != nil {
		return false, err
	}
	now := time.Now()
	if _, err := s.exec(ctx, `DELETE FROM once_keys WHERE key IN
  (SELECT key FROM once_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT 100)`, now); err != nil {
		return false, fmt.Errorf("store: prune once keys: %w", err)
	}
	// An expired claim of the same key is taken over; a live one wins. The upsert is atomic,
	// so of two replicas claiming the same key at once exactly one gets it.
	res, err := s.exec(ctx, `INSERT INTO once_keys (key, expires_at) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE once_keys.expires_at <= $3`,
		key, utc(expires), now)
	if err != nil {
		return false, fmt.Errorf("store: claim once key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim once key: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	if s.onceClaims.Add(1)%onceEvictEvery == 0 {
		if _, err := s.exec(ctx, `DELETE FROM once_keys WHERE key IN
  (SELECT key FROM once_keys ORDER BY expires_at DESC, key LIMIT `+s.d.noLimit+` OFFSET $1)`, MaxOnceKeys); err != nil {
			return true, fmt.Errorf("store: bound once keys: %w", err)
		}
	}
	return true, nil
}

// ReleaseOnce implements Store.
func (s *sqlStore) ReleaseOnce(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM once_keys WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store: release once key: %w", err)
	}
	return nil
}

// scanner is the Scan method shared by *sql.Row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanIncident reads one row selected with incidentColumns.
func scanIncident(r scanner) (Incident, error) {
	var in Incident
	err := r.Scan(&in.WorkflowID, &in.RunID, &in.AlertName, &in.Application, &in.Severity, &in.Status,
		&in.Language, &in.Report, (*jsonCol)(&in.Alert), (*jsonCol)(&in.Details),
		(*timeCol)(&in.CreatedAt), (*timeCol)(&in.UpdatedAt))
	return in, err
}

// scanRole reads one row selected with roleColumns.
func scanRole(r scanner) (RoleVersion, error) {
	var rv RoleVersion
	err := r.Scan(&rv.Code, &rv.Version, (*jsonCol)(&rv.Spec), &rv.Author, &rv.Comment, &rv.Deleted,
		(*timeCol)(&rv.CreatedAt))
	return rv, err
}

// scanLLMCall reads one row selected with llmCallColumns.
func scanLLMCall(r scanner) (LLMCall, error) {
	var c LLMCall
	err := r.Scan(&c.ID, (*timeCol)(&c.Time), &c.Client, &c.Role, &c.RoleVersion, &c.Provider, &c.Model, &c.Subject,
		(*jsonCol)(&c.Request), &c.Response, &c.Status, &c.Error, &c.LatencyMS, &c.InputTokens, &c.OutputTokens,
		&c.CostUSD, &c.WorkflowID, &c.Attempt, &c.RunID, &c.ErrorClass, &c.Reused)
	return c, err
}

// scanDeployment reads one row selected with deploymentColumns.
func scanDeployment(r scanner) (Deployment, error) {
	var d Deployment
	err := r.Scan(&d.ID, &d.WorkflowID, &d.Version, (*timeCol)(&d.PlannedAt), (*listCol)(&d.Applications),
		&d.Status, &d.Gate, &d.State, &d.Seq, (*jsonCol)(&d.Body), (*timeCol)(&d.CreatedAt), (*timeCol)(&d.UpdatedAt))
	return d, err
}

// timeCol scans a timestamp column into a time.Time in UTC: PostgreSQL's timestamptz
// arrives as a time.Time, SQLite's TEXT in sqliteTimeLayout.
type timeCol time.Time

// Scan implements sql.Scanner.
func (c *timeCol) Scan(src any) error {
	var t time.Time
	var err error
	switch v := src.(type) {
	case time.Time:
		t = utc(v)
	case string:
		t, err = parseSQLiteTime(v)
	case []byte:
		t, err = parseSQLiteTime(string(v))
	default:
		err = fmt.Errorf("store: cannot scan %T into a timestamp", src)
	}
	*c = timeCol(t)
	return err
}

// jsonCol scans a JSON column (jsonb or TEXT) into a json.RawMessage, nil for NULL.
type jsonCol json.RawMessage

// Scan implements sql.Scanner.
func (c *jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = nil
	case []byte:
		*c = nil
		if len(v) > 0 {
			*c = append(jsonCol(nil), v...) // the driver may reuse v
		}
	case string:
		*c = nil
		if v != "" {
			*c = jsonCol(v)
		}
	default:
		return fmt.Errorf("store: cannot scan %T into JSON", src)
	}
	return nil
}

// listCol scans a list of strings, nil when empty: PostgreSQL's text[] arrives as an array
// literal ({a,"b c"}), SQLite's as a JSON array.
type listCol []string

// Scan implements sql.Scanner.
func (c *listCol) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("store: cannot scan %T into a list", src)
	}
	var l []string
	var err error
	if len(text) > 0 && text[0] == '[' {
		err = json.Unmarshal([]byte(text), &l)
	} else {
		err = pgtype.NewMap().SQLScanner(&l).Scan(text)
	}
	if len(l) == 0 {
		l = nil
	}
	*c = l
	return err
}
