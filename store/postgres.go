package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Advisory lock keys. Migrations take one database-wide transaction lock;
// role writes take a two-key lock (pgRoleLockClass, hashtext(code)) so that
// version numbers of one role are assigned strictly one after another.
const (
	pgMigrateLockKey int64 = 0x5669_6769_6c4d_6967 // "VigilMig"
	pgRoleLockClass  int32 = 0x5652                // "VR"
)

// pgUniqueViolation is the SQLSTATE of a unique constraint failure.
const pgUniqueViolation = "23505"

// postgresStore is the PostgreSQL implementation of Store.
type postgresStore struct {
	pool *pgxpool.Pool
	// onceClaims counts first claims, to check MaxOnceKeys every onceEvictEvery of them.
	onceClaims atomic.Int64
}

// newPostgresDialect returns the dialect used by the PostgreSQL filter builders.
func newPostgresDialect() dialect {
	return dialect{
		placeholder:    func(n int) string { return "$" + strconv.Itoa(n) },
		timeArg:        func(t time.Time) any { return t },
		hasApplication: "applications @> ARRAY[%s::text]",
	}
}

// OpenPostgres connects to the PostgreSQL database at url (a postgres:// URL
// or a keyword/value connection string) and applies pending migrations.
// Unrecognised URL parameters such as search_path are sent to the server as
// session settings, so "?search_path=myschema" places Vigil's tables in
// myschema (which must exist).
func OpenPostgres(ctx context.Context, url string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("store: parse PostgreSQL URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	s := &postgresStore{pool: pool}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies pending migrations in one transaction, holding an advisory
// lock so that processes starting together apply them once.
func (s *postgresStore) migrate(ctx context.Context) error {
	ms, err := loadMigrations("postgres")
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgMigrateLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL
)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied := make(map[int]bool, len(versions))
		for _, v := range versions {
			applied[int(v)] = true
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			// Without arguments pgx uses the simple protocol, which accepts
			// several statements at once.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.version, now()); err != nil {
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

// Ping implements Store.
func (s *postgresStore) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: ping PostgreSQL: %w", err)
	}
	return nil
}

// Backend implements Store.
func (s *postgresStore) Backend() string { return "postgres" }

// Close implements Store.
func (s *postgresStore) Close() error {
	s.pool.Close()
	return nil
}

// SaveIncident implements Store.
func (s *postgresStore) SaveIncident(ctx context.Context, in Incident) error {
	in, err := prepareIncident(in)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO incidents (`+incidentColumns+`)
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
		pgJSON(in.Alert), pgJSON(in.Details), in.CreatedAt, in.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: save incident %q: %w", in.WorkflowID, err)
	}
	return nil
}

// GetIncident implements Store.
func (s *postgresStore) GetIncident(ctx context.Context, workflowID string) (Incident, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE workflow_id = $1`, workflowID)
	in, err := scanPGIncident(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Incident{}, fmt.Errorf("store: incident %q: %w", workflowID, ErrNotFound)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident %q: %w", workflowID, err)
	}
	return in, nil
}

// ListIncidents implements Store.
func (s *postgresStore) ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	w := incidentWhere(newPostgresDialect(), f)
	q := `SELECT ` + incidentColumns + ` FROM incidents` + w.sql() +
		` ORDER BY created_at DESC, workflow_id LIMIT ` + w.next(limitOrDefault(f.Limit)) + ` OFFSET ` + w.next(max(f.Offset, 0))
	rows, err := s.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	out, err := collect(rows, scanPGIncident)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	return out, nil
}

// PutRoleVersion implements Store.
func (s *postgresStore) PutRoleVersion(ctx context.Context, rv RoleVersion) (RoleVersion, error) {
	rv, err := prepareRoleVersion(rv)
	if err != nil {
		return RoleVersion{}, err
	}
	err = s.roleTx(ctx, rv.Code, func(tx pgx.Tx) error {
		var latest int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM role_versions WHERE code = $1`,
			rv.Code).Scan(&latest); err != nil {
			return err
		}
		rv.Version = latest + 1
		return pgInsertRole(ctx, tx, rv)
	})
	if err != nil {
		return RoleVersion{}, fmt.Errorf("store: put role %q: %w", rv.Code, err)
	}
	return rv, nil
}

// DeleteRole implements Store.
func (s *postgresStore) DeleteRole(ctx context.Context, code, author string) error {
	err := s.roleTx(ctx, code, func(tx pgx.Tx) error {
		var latest int
		var deleted bool
		err := tx.QueryRow(ctx, `SELECT version, deleted FROM role_versions WHERE code = $1 ORDER BY version DESC LIMIT 1`,
			code).Scan(&latest, &deleted)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && deleted) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return pgInsertRole(ctx, tx, RoleVersion{
			Code: code, Version: latest + 1, Author: author, Deleted: true, CreatedAt: now(),
		})
	})
	if err != nil {
		return fmt.Errorf("store: delete role %q: %w", code, err)
	}
	return nil
}

// roleTx runs fn in a transaction holding the advisory lock of a role code.
func (s *postgresStore) roleTx(ctx context.Context, code string, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, pgRoleLockClass, code); err != nil {
			return fmt.Errorf("take role lock: %w", err)
		}
		return fn(tx)
	})
}

// pgInsertRole inserts one role version row, mapping a duplicate key to
// ErrConflict.
func pgInsertRole(ctx context.Context, tx pgx.Tx, rv RoleVersion) error {
	_, err := tx.Exec(ctx, `INSERT INTO role_versions (`+roleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		rv.Code, rv.Version, pgJSON(rv.Spec), rv.Author, rv.Comment, rv.Deleted, rv.CreatedAt)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgUniqueViolation {
		return fmt.Errorf("version %d already exists: %w", rv.Version, ErrConflict)
	}
	return err
}

// GetRole implements Store.
func (s *postgresStore) GetRole(ctx context.Context, code string, version int) (RoleVersion, error) {
	var row pgx.Row
	if version == 0 {
		row = s.pool.QueryRow(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = $1 ORDER BY version DESC LIMIT 1`, code)
	} else {
		row = s.pool.QueryRow(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = $1 AND version = $2`, code, version)
	}
	rv, err := scanPGRole(row)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && version == 0 && rv.Deleted) {
		return RoleVersion{}, fmt.Errorf("store: role %q version %d: %w", code, version, ErrNotFound)
	}
	if err != nil {
		return RoleVersion{}, fmt.Errorf("store: get role %q version %d: %w", code, version, err)
	}
	return rv, nil
}

// ListRoles implements Store.
func (s *postgresStore) ListRoles(ctx context.Context) ([]RoleVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roleColumns+` FROM (
	SELECT DISTINCT ON (code) `+roleColumns+` FROM role_versions ORDER BY code, version DESC
) latest WHERE NOT deleted ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("store: list roles: %w", err)
	}
	out, err := collect(rows, scanPGRole)
	if err != nil {
		return nil, fmt.Errorf("store: list roles: %w", err)
	}
	return out, nil
}

// ListRoleVersions implements Store.
func (s *postgresStore) ListRoleVersions(ctx context.Context, code string) ([]RoleVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = $1 ORDER BY version`, code)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of role %q: %w", code, err)
	}
	out, err := collect(rows, scanPGRole)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of role %q: %w", code, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: role %q: %w", code, ErrNotFound)
	}
	return out, nil
}

// RecordLLMCall implements Store.
func (s *postgresStore) RecordLLMCall(ctx context.Context, c LLMCall) error {
	c, err := prepareLLMCall(c)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO llm_calls (`+llmCallColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Time, c.Client, c.Role, c.RoleVersion, c.Provider, c.Model, c.Subject,
		pgJSON(c.Request), c.Response, c.Status, c.Error, c.LatencyMS, c.InputTokens, c.OutputTokens,
		c.CostUSD, c.WorkflowID, c.Attempt, c.RunID, c.ErrorClass, c.Reused)
	if err != nil {
		return fmt.Errorf("store: record LLM call %q: %w", c.ID, err)
	}
	return nil
}

// ListLLMCalls implements Store.
func (s *postgresStore) ListLLMCalls(ctx context.Context, f LLMCallFilter) ([]LLMCall, error) {
	w := llmCallWhere(newPostgresDialect(), f)
	q := `SELECT ` + llmCallColumns + ` FROM llm_calls` + w.sql() +
		` ORDER BY ts DESC, id LIMIT ` + w.next(limitOrDefault(f.Limit))
	rows, err := s.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list LLM calls: %w", err)
	}
	out, err := collect(rows, scanPGLLMCall)
	if err != nil {
		return nil, fmt.Errorf("store: list LLM calls: %w", err)
	}
	return out, nil
}

// UsageSummary implements Store.
func (s *postgresStore) UsageSummary(ctx context.Context, f LLMCallFilter) ([]UsageRow, error) {
	w := llmCallWhere(newPostgresDialect(), f)
	rows, err := s.pool.Query(ctx, usageQuery(w.sql()), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	out, err := collect(rows, func(r pgx.Row) (UsageRow, error) {
		var u UsageRow
		err := r.Scan(&u.Client, &u.Role, &u.Provider, &u.Model, &u.Calls, &u.Errors,
			&u.InputTokens, &u.OutputTokens, &u.CostUSD, &u.AvgLatencyMS)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	return out, nil
}

// PutAPIKey implements Store.
func (s *postgresStore) PutAPIKey(ctx context.Context, k APIKey) error {
	k, err := prepareAPIKey(k)
	if err != nil {
		return err
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (hash) DO UPDATE SET client = excluded.client, org = excluded.org, scopes = excluded.scopes`,
		k.Hash, k.Client, k.Org, scopes, k.CreatedAt)
	if err != nil {
		return fmt.Errorf("store: put API key for client %q: %w", k.Client, err)
	}
	return nil
}

// LookupAPIKey implements Store.
func (s *postgresStore) LookupAPIKey(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	err := s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.Hash, &k.Client, &k.Org, &k.Scopes, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, fmt.Errorf("store: API key: %w", ErrNotFound)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: look up API key: %w", err)
	}
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	k.CreatedAt = utc(k.CreatedAt)
	return k, nil
}

// collect scans every row with scan and closes rows. It returns a non-nil
// slice.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
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

// scanPGIncident reads one row selected with incidentColumns.
func scanPGIncident(r pgx.Row) (Incident, error) {
	var in Incident
	var alert, details []byte
	if err := r.Scan(&in.WorkflowID, &in.RunID, &in.AlertName, &in.Application, &in.Severity, &in.Status,
		&in.Language, &in.Report, &alert, &details, &in.CreatedAt, &in.UpdatedAt); err != nil {
		return Incident{}, err
	}
	in.Alert, in.Details = rawJSON(alert), rawJSON(details)
	in.CreatedAt, in.UpdatedAt = utc(in.CreatedAt), utc(in.UpdatedAt)
	return in, nil
}

// scanPGRole reads one row selected with roleColumns.
func scanPGRole(r pgx.Row) (RoleVersion, error) {
	var rv RoleVersion
	var spec []byte
	if err := r.Scan(&rv.Code, &rv.Version, &spec, &rv.Author, &rv.Comment, &rv.Deleted, &rv.CreatedAt); err != nil {
		return RoleVersion{}, err
	}
	rv.Spec = rawJSON(spec)
	rv.CreatedAt = utc(rv.CreatedAt)
	return rv, nil
}

// scanPGLLMCall reads one row selected with llmCallColumns.
func scanPGLLMCall(r pgx.Row) (LLMCall, error) {
	var c LLMCall
	var request []byte
	if err := r.Scan(&c.ID, &c.Time, &c.Client, &c.Role, &c.RoleVersion, &c.Provider, &c.Model, &c.Subject,
		&request, &c.Response, &c.Status, &c.Error, &c.LatencyMS, &c.InputTokens, &c.OutputTokens,
		&c.CostUSD, &c.WorkflowID, &c.Attempt, &c.RunID, &c.ErrorClass, &c.Reused); err != nil {
		return LLMCall{}, err
	}
	c.Request = rawJSON(request)
	c.Time = utc(c.Time)
	return c, nil
}

// pgJSON returns the argument storing raw as jsonb, or NULL when empty.
func pgJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return []byte(raw)
}

// RecordDelivery implements Store.
func (s *postgresStore) RecordDelivery(ctx context.Context, d Delivery) error {
	if d.IncidentID == "" || d.Channel == "" {
		return errors.New("store: record delivery: incident ID and channel are required")
	}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO deliveries (incident_id, channel, status, detail, attempts, at)
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
func (s *postgresStore) GetDelivery(ctx context.Context, incidentID, channel string) (Delivery, error) {
	d := Delivery{IncidentID: incidentID, Channel: channel}
	err := s.pool.QueryRow(ctx, `SELECT status, detail, attempts, at FROM deliveries WHERE incident_id = $1 AND channel = $2`,
		incidentID, channel).Scan(&d.Status, &d.Detail, &d.Attempts, &d.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return Delivery{}, fmt.Errorf("store: delivery %s/%s: %w", incidentID, channel, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: get delivery: %w", err)
	}
	d.At = utc(d.At)
	return d, nil
}

// SaveDeployment implements Store.
func (s *postgresStore) SaveDeployment(ctx context.Context, d Deployment) error {
	d, err := prepareDeployment(d)
	if err != nil {
		return err
	}
	apps := d.Applications
	if apps == nil {
		apps = []string{}
	}
	_, err = s.pool.Exec(ctx, deploymentUpsert("$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12"),
		d.ID, d.WorkflowID, d.Version, d.PlannedAt, apps, d.Status, d.Gate, d.State, d.Seq,
		pgJSON(d.Body), d.CreatedAt, d.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: save deployment %q: %w", d.ID, err)
	}
	return nil
}

// GetDeployment implements Store.
func (s *postgresStore) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = $1`, id)
	d, err := scanPGDeployment(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Deployment{}, fmt.Errorf("store: deployment %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Deployment{}, fmt.Errorf("store: get deployment %q: %w", id, err)
	}
	return d, nil
}

// ListDeployments implements Store.
func (s *postgresStore) ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error) {
	w := deploymentWhere(newPostgresDialect(), f)
	q := `SELECT ` + deploymentColumns + ` FROM deployments` + w.sql() +
		` ORDER BY planned_at DESC, id LIMIT ` + w.next(limitOrDefault(f.Limit)) + ` OFFSET ` + w.next(max(f.Offset, 0))
	rows, err := s.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list deployments: %w", err)
	}
	out, err := collect(rows, scanPGDeployment)
	if err != nil {
		return nil, fmt.Errorf("store: list deployments: %w", err)
	}
	return out, nil
}

// scanPGDeployment reads one row selected with deploymentColumns.
func scanPGDeployment(r pgx.Row) (Deployment, error) {
	var d Deployment
	var body []byte
	if err := r.Scan(&d.ID, &d.WorkflowID, &d.Version, &d.PlannedAt, &d.Applications, &d.Status, &d.Gate,
		&d.State, &d.Seq, &body, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return Deployment{}, err
	}
	if len(d.Applications) == 0 {
		d.Applications = nil
	}
	d.Body = rawJSON(body)
	d.PlannedAt, d.CreatedAt, d.UpdatedAt = utc(d.PlannedAt), utc(d.CreatedAt), utc(d.UpdatedAt)
	return d, nil
}

// ClaimOnce implements Store.
func (s *postgresStore) ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if err := checkOnceKey(key); err != nil {
		return false, err
	}
	now := time.Now()
	if _, err := s.pool.Exec(ctx, `DELETE FROM once_keys WHERE key IN
  (SELECT key FROM once_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT 100)`, now); err != nil {
		return false, fmt.Errorf("store: prune once keys: %w", err)
	}
	// An expired claim of the same key is taken over; a live one wins. The upsert is atomic,
	// so of two replicas claiming the same key at once exactly one gets it.
	tag, err := s.pool.Exec(ctx, `INSERT INTO once_keys (key, expires_at) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE once_keys.expires_at <= $3`,
		key, utc(expires), now)
	if err != nil {
		return false, fmt.Errorf("store: claim once key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if s.onceClaims.Add(1)%onceEvictEvery == 0 {
		if _, err := s.pool.Exec(ctx, `DELETE FROM once_keys WHERE key IN
  (SELECT key FROM once_keys ORDER BY expires_at DESC, key OFFSET $1)`, MaxOnceKeys); err != nil {
			return true, fmt.Errorf("store: bound once keys: %w", err)
		}
	}
	return true, nil
}

// ReleaseOnce implements Store.
func (s *postgresStore) ReleaseOnce(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM once_keys WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store: release once key: %w", err)
	}
	return nil
}
