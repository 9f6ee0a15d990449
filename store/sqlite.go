package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteTimeLayout is the fixed-width UTC form in which SQLite timestamps are
// stored; it sorts lexically in time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// sqliteReaders is the size of the read connection pool of a file database.
const sqliteReaders = 4

// sqliteStore is the SQLite implementation of Store. All writes go through a
// pool of exactly one connection whose transactions begin IMMEDIATE, so
// writers never deadlock; reads use a separate pool (WAL lets them run next
// to the writer). For an in-memory database both pools are the same single
// connection.
type sqliteStore struct {
	w *sql.DB
	r *sql.DB
	// onceClaims counts first claims, to check MaxOnceKeys every onceEvictEvery of them.
	onceClaims atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// newSQLiteDialect returns the dialect used by the SQLite filter builders.
func newSQLiteDialect() dialect {
	return dialect{
		placeholder:    func(int) string { return "?" },
		timeArg:        func(t time.Time) any { return sqliteTime(t) },
		hasApplication: "EXISTS (SELECT 1 FROM json_each(applications) WHERE json_each.value = %s)",
	}
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// applies pending migrations. The parent directory is created if missing.
// The database runs in WAL mode with busy_timeout 5000 and foreign keys on.
// The path ":memory:" opens a private in-memory database that lives until
// Close.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("store: SQLite path %q: query parameters are not supported", path)
	}
	const common = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	s := &sqliteStore{}
	var err error
	if path == ":memory:" {
		// A named shared-cache database, so that a connection reopened by
		// database/sql would still see the data; one connection is enough.
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		dsn := "file:vigil-" + hex.EncodeToString(b[:]) + "?mode=memory&cache=shared&" + common
		if s.w, err = sql.Open("sqlite", dsn); err != nil {
			return nil, fmt.Errorf("store: open SQLite: %w", err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		s.w.SetConnMaxIdleTime(0)
		s.r = s.w
	} else {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: create directory for SQLite database: %w", err)
		}
		if err := ownerOnly(path); err != nil {
			return nil, err
		}
		// modernc.org/sqlite strips the query from a DSN that is not a
		// file: URI and opens the remainder as a plain file name.
		wdsn := path + "?" + common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		if s.w, err = sql.Open("sqlite", wdsn); err != nil {
			return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetConnMaxIdleTime(0)
		s.w.SetConnMaxLifetime(0)
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r == nil {
		rdsn := path + "?" + common + "&_pragma=query_only(1)"
		if s.r, err = sql.Open("sqlite", rdsn); err != nil {
			s.w.Close()
			return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
		}
		s.r.SetMaxOpenConns(sqliteReaders)
		s.r.SetMaxIdleConns(sqliteReaders)
		if err := s.r.PingContext(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
		}
	}
	return s, nil
}

// ownerOnly creates the database file readable and writable by its owner only (0600), or
// narrows an existing one and its WAL files to that: it holds incidents, roles and the usage
// log. SQLite creates its -wal and -shm files with the database file's permissions.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create SQLite database %s: %w", path, err)
	}
	_ = f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: SQLite database %s: %w", p, err)
		}
	}
	return nil
}

// migrate applies pending migrations in one transaction. The writer's
// transactions begin IMMEDIATE, which also serialises concurrent processes.
func (s *sqliteStore) migrate(ctx context.Context) error {
	ms, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at TEXT    NOT NULL
)`); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	applied, err := sqliteAppliedVersions(ctx, tx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("store: migrate: apply %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			m.version, sqliteTime(now())); err != nil {
			return fmt.Errorf("store: migrate: record %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: commit: %w", err)
	}
	return nil
}

// sqliteAppliedVersions returns the set of versions in schema_migrations.
func sqliteAppliedVersions(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := make(map[int]bool)
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	return applied, nil
}

// Ping implements Store.
func (s *sqliteStore) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping SQLite: %w", err)
	}
	return nil
}

// Backend implements Store.
func (s *sqliteStore) Backend() string { return "sqlite" }

// Close implements Store.
func (s *sqliteStore) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.r != nil && s.r != s.w {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// SaveIncident implements Store.
func (s *sqliteStore) SaveIncident(ctx context.Context, in Incident) error {
	in, err := prepareIncident(in)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO incidents (`+incidentColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
		sqliteJSON(in.Alert), sqliteJSON(in.Details), sqliteTime(in.CreatedAt), sqliteTime(in.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: save incident %q: %w", in.WorkflowID, err)
	}
	return nil
}

// GetIncident implements Store.
func (s *sqliteStore) GetIncident(ctx context.Context, workflowID string) (Incident, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE workflow_id = ?`, workflowID)
	in, err := scanSQLiteIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("store: incident %q: %w", workflowID, ErrNotFound)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident %q: %w", workflowID, err)
	}
	return in, nil
}

// ListIncidents implements Store.
func (s *sqliteStore) ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	w := incidentWhere(newSQLiteDialect(), f)
	q := `SELECT ` + incidentColumns + ` FROM incidents` + w.sql() +
		` ORDER BY created_at DESC, workflow_id LIMIT ` + w.next(limitOrDefault(f.Limit)) + ` OFFSET ` + w.next(max(f.Offset, 0))
	rows, err := s.r.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	defer rows.Close()
	out := make([]Incident, 0)
	for rows.Next() {
		in, err := scanSQLiteIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list incidents: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	return out, nil
}

// PutRoleVersion implements Store.
func (s *sqliteStore) PutRoleVersion(ctx context.Context, rv RoleVersion) (RoleVersion, error) {
	rv, err := prepareRoleVersion(rv)
	if err != nil {
		return RoleVersion{}, err
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var latest int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM role_versions WHERE code = ?`,
			rv.Code).Scan(&latest); err != nil {
			return err
		}
		rv.Version = latest + 1
		return sqliteInsertRole(ctx, tx, rv)
	})
	if err != nil {
		return RoleVersion{}, fmt.Errorf("store: put role %q: %w", rv.Code, err)
	}
	return rv, nil
}

// DeleteRole implements Store.
func (s *sqliteStore) DeleteRole(ctx context.Context, code, author string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var latest int
		var deleted bool
		err := tx.QueryRowContext(ctx, `SELECT version, deleted FROM role_versions WHERE code = ? ORDER BY version DESC LIMIT 1`,
			code).Scan(&latest, &deleted)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return sqliteInsertRole(ctx, tx, RoleVersion{
			Code: code, Version: latest + 1, Author: author, Deleted: true, CreatedAt: now(),
		})
	})
	if err != nil {
		return fmt.Errorf("store: delete role %q: %w", code, err)
	}
	return nil
}

// sqliteInsertRole inserts one role version row, mapping a duplicate key to
// ErrConflict.
func sqliteInsertRole(ctx context.Context, tx *sql.Tx, rv RoleVersion) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO role_versions (`+roleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		rv.Code, rv.Version, sqliteJSON(rv.Spec), rv.Author, rv.Comment, rv.Deleted, sqliteTime(rv.CreatedAt))
	if isSQLiteUniqueViolation(err) {
		return fmt.Errorf("version %d already exists: %w", rv.Version, ErrConflict)
	}
	return err
}

// GetRole implements Store.
func (s *sqliteStore) GetRole(ctx context.Context, code string, version int) (RoleVersion, error) {
	var row *sql.Row
	if version == 0 {
		row = s.r.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = ? ORDER BY version DESC LIMIT 1`, code)
	} else {
		row = s.r.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = ? AND version = ?`, code, version)
	}
	rv, err := scanSQLiteRole(row)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && version == 0 && rv.Deleted) {
		return RoleVersion{}, fmt.Errorf("store: role %q version %d: %w", code, version, ErrNotFound)
	}
	if err != nil {
		return RoleVersion{}, fmt.Errorf("store: get role %q version %d: %w", code, version, err)
	}
	return rv, nil
}

// ListRoles implements Store.
func (s *sqliteStore) ListRoles(ctx context.Context) ([]RoleVersion, error) {
	out, err := s.queryRoles(ctx, `SELECT `+roleColumns+` FROM role_versions r
WHERE r.version = (SELECT MAX(l.version) FROM role_versions l WHERE l.code = r.code) AND NOT r.deleted
ORDER BY r.code`)
	if err != nil {
		return nil, fmt.Errorf("store: list roles: %w", err)
	}
	return out, nil
}

// ListRoleVersions implements Store.
func (s *sqliteStore) ListRoleVersions(ctx context.Context, code string) ([]RoleVersion, error) {
	out, err := s.queryRoles(ctx, `SELECT `+roleColumns+` FROM role_versions WHERE code = ? ORDER BY version`, code)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of role %q: %w", code, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: role %q: %w", code, ErrNotFound)
	}
	return out, nil
}

// queryRoles runs a role_versions query selecting roleColumns.
func (s *sqliteStore) queryRoles(ctx context.Context, q string, args ...any) ([]RoleVersion, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]RoleVersion, 0)
	for rows.Next() {
		rv, err := scanSQLiteRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rv)
	}
	return out, rows.Err()
}

// RecordLLMCall implements Store.
func (s *sqliteStore) RecordLLMCall(ctx context.Context, c LLMCall) error {
	c, err := prepareLLMCall(c)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO llm_calls (`+llmCallColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`,
		c.ID, sqliteTime(c.Time), c.Client, c.Role, c.RoleVersion, c.Provider, c.Model, c.Subject,
		sqliteJSON(c.Request), c.Response, c.Status, c.Error, c.LatencyMS, c.InputTokens, c.OutputTokens,
		c.CostUSD, c.WorkflowID, c.Attempt, c.RunID, c.ErrorClass, c.Reused)
	if err != nil {
		return fmt.Errorf("store: record LLM call %q: %w", c.ID, err)
	}
	return nil
}

// ListLLMCalls implements Store.
func (s *sqliteStore) ListLLMCalls(ctx context.Context, f LLMCallFilter) ([]LLMCall, error) {
	w := llmCallWhere(newSQLiteDialect(), f)
	q := `SELECT ` + llmCallColumns + ` FROM llm_calls` + w.sql() +
		` ORDER BY ts DESC, id LIMIT ` + w.next(limitOrDefault(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list LLM calls: %w", err)
	}
	defer rows.Close()
	out := make([]LLMCall, 0)
	for rows.Next() {
		c, err := scanSQLiteLLMCall(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list LLM calls: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list LLM calls: %w", err)
	}
	return out, nil
}

// UsageSummary implements Store.
func (s *sqliteStore) UsageSummary(ctx context.Context, f LLMCallFilter) ([]UsageRow, error) {
	w := llmCallWhere(newSQLiteDialect(), f)
	rows, err := s.r.QueryContext(ctx, usageQuery(w.sql()), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	defer rows.Close()
	out := make([]UsageRow, 0)
	for rows.Next() {
		var u UsageRow
		if err := rows.Scan(&u.Client, &u.Role, &u.Provider, &u.Model, &u.Calls, &u.Errors,
			&u.InputTokens, &u.OutputTokens, &u.CostUSD, &u.AvgLatencyMS); err != nil {
			return nil, fmt.Errorf("store: usage summary: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	return out, nil
}

// PutAPIKey implements Store.
func (s *sqliteStore) PutAPIKey(ctx context.Context, k APIKey) error {
	k, err := prepareAPIKey(k)
	if err != nil {
		return err
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	sj, err := json.Marshal(scopes)
	if err != nil {
		return fmt.Errorf("store: put API key: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (hash) DO UPDATE SET client = excluded.client, org = excluded.org, scopes = excluded.scopes`,
		k.Hash, k.Client, k.Org, string(sj), sqliteTime(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put API key for client %q: %w", k.Client, err)
	}
	return nil
}

// LookupAPIKey implements Store.
func (s *sqliteStore) LookupAPIKey(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	var scopes, created string
	err := s.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash).
		Scan(&k.Hash, &k.Client, &k.Org, &scopes, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, fmt.Errorf("store: API key: %w", ErrNotFound)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: look up API key: %w", err)
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return APIKey{}, fmt.Errorf("store: look up API key: scopes: %w", err)
	}
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	if k.CreatedAt, err = parseSQLiteTime(created); err != nil {
		return APIKey{}, fmt.Errorf("store: look up API key: %w", err)
	}
	return k, nil
}

// writeTx runs fn in a transaction on the writer connection.
func (s *sqliteStore) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// scanner is the Scan method shared by *sql.Row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanSQLiteIncident reads one row selected with incidentColumns.
func scanSQLiteIncident(r scanner) (Incident, error) {
	var in Incident
	var alert, details []byte
	var created, updated string
	if err := r.Scan(&in.WorkflowID, &in.RunID, &in.AlertName, &in.Application, &in.Severity, &in.Status,
		&in.Language, &in.Report, &alert, &details, &created, &updated); err != nil {
		return Incident{}, err
	}
	in.Alert, in.Details = rawJSON(alert), rawJSON(details)
	var err error
	if in.CreatedAt, err = parseSQLiteTime(created); err != nil {
		return Incident{}, err
	}
	if in.UpdatedAt, err = parseSQLiteTime(updated); err != nil {
		return Incident{}, err
	}
	return in, nil
}

// scanSQLiteRole reads one row selected with roleColumns.
func scanSQLiteRole(r scanner) (RoleVersion, error) {
	var rv RoleVersion
	var spec []byte
	var created string
	if err := r.Scan(&rv.Code, &rv.Version, &spec, &rv.Author, &rv.Comment, &rv.Deleted, &created); err != nil {
		return RoleVersion{}, err
	}
	rv.Spec = rawJSON(spec)
	var err error
	rv.CreatedAt, err = parseSQLiteTime(created)
	return rv, err
}

// scanSQLiteLLMCall reads one row selected with llmCallColumns.
func scanSQLiteLLMCall(r scanner) (LLMCall, error) {
	var c LLMCall
	var request []byte
	var ts string
	if err := r.Scan(&c.ID, &ts, &c.Client, &c.Role, &c.RoleVersion, &c.Provider, &c.Model, &c.Subject,
		&request, &c.Response, &c.Status, &c.Error, &c.LatencyMS, &c.InputTokens, &c.OutputTokens,
		&c.CostUSD, &c.WorkflowID, &c.Attempt, &c.RunID, &c.ErrorClass, &c.Reused); err != nil {
		return LLMCall{}, err
	}
	c.Request = rawJSON(request)
	var err error
	c.Time, err = parseSQLiteTime(ts)
	return c, err
}

// sqliteTime formats t for storage.
func sqliteTime(t time.Time) string {
	return utc(t).Format(sqliteTimeLayout)
}

// parseSQLiteTime parses a timestamp written by sqliteTime.
func parseSQLiteTime(s string) (time.Time, error) {
	t, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q: %w", s, err)
	}
	return utc(t), nil
}

// sqliteJSON returns the argument storing raw as TEXT, or NULL when empty.
func sqliteJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

// rawJSON converts a scanned JSON column to a RawMessage, nil for NULL.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// isSQLiteUniqueViolation reports whether err is a primary key or unique
// constraint failure.
func isSQLiteUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// RecordDelivery implements Store.
func (s *sqliteStore) RecordDelivery(ctx context.Context, d Delivery) error {
	if d.IncidentID == "" || d.Channel == "" {
		return errors.New("store: record delivery: incident ID and channel are required")
	}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO deliveries (incident_id, channel, status, detail, attempts, at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (incident_id, channel) DO UPDATE SET status = excluded.status, detail = excluded.detail,
  attempts = excluded.attempts, at = excluded.at`,
		d.IncidentID, d.Channel, d.Status, d.Detail, d.Attempts, sqliteTime(d.At))
	if err != nil {
		return fmt.Errorf("store: record delivery %s/%s: %w", d.IncidentID, d.Channel, err)
	}
	return nil
}

// GetDelivery implements Store.
func (s *sqliteStore) GetDelivery(ctx context.Context, incidentID, channel string) (Delivery, error) {
	d := Delivery{IncidentID: incidentID, Channel: channel}
	var at string
	err := s.r.QueryRowContext(ctx, `SELECT status, detail, attempts, at FROM deliveries WHERE incident_id = ? AND channel = ?`,
		incidentID, channel).Scan(&d.Status, &d.Detail, &d.Attempts, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("store: delivery %s/%s: %w", incidentID, channel, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: get delivery: %w", err)
	}
	if d.At, err = parseSQLiteTime(at); err != nil {
		return Delivery{}, fmt.Errorf("store: get delivery: %w", err)
	}
	return d, nil
}

// SaveDeployment implements Store.
func (s *sqliteStore) SaveDeployment(ctx context.Context, d Deployment) error {
	d, err := prepareDeployment(d)
	if err != nil {
		return err
	}
	apps := d.Applications
	if apps == nil {
		apps = []string{}
	}
	aj, err := json.Marshal(apps)
	if err != nil {
		return fmt.Errorf("store: save deployment %q: %w", d.ID, err)
	}
	_, err = s.w.ExecContext(ctx, deploymentUpsert("?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"),
		d.ID, d.WorkflowID, d.Version, sqliteTime(d.PlannedAt), string(aj), d.Status, d.Gate, d.State, d.Seq,
		string(d.Body), sqliteTime(d.CreatedAt), sqliteTime(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: save deployment %q: %w", d.ID, err)
	}
	return nil
}

// GetDeployment implements Store.
func (s *sqliteStore) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ?`, id)
	d, err := scanSQLiteDeployment(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, fmt.Errorf("store: deployment %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Deployment{}, fmt.Errorf("store: get deployment %q: %w", id, err)
	}
	return d, nil
}

// ListDeployments implements Store.
func (s *sqliteStore) ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error) {
	w := deploymentWhere(newSQLiteDialect(), f)
	q := `SELECT ` + deploymentColumns + ` FROM deployments` + w.sql() +
		` ORDER BY planned_at DESC, id LIMIT ` + w.next(limitOrDefault(f.Limit)) + ` OFFSET ` + w.next(max(f.Offset, 0))
	rows, err := s.r.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list deployments: %w", err)
	}
	defer rows.Close()
	out := make([]Deployment, 0)
	for rows.Next() {
		d, err := scanSQLiteDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list deployments: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list deployments: %w", err)
	}
	return out, nil
}

// scanSQLiteDeployment reads one row selected with deploymentColumns.
func scanSQLiteDeployment(r scanner) (Deployment, error) {
	var d Deployment
	var apps string
	var body []byte
	var planned, created, updated string
	if err := r.Scan(&d.ID, &d.WorkflowID, &d.Version, &planned, &apps, &d.Status, &d.Gate, &d.State, &d.Seq,
		&body, &created, &updated); err != nil {
		return Deployment{}, err
	}
	if err := json.Unmarshal([]byte(apps), &d.Applications); err != nil {
		return Deployment{}, fmt.Errorf("applications: %w", err)
	}
	if len(d.Applications) == 0 {
		d.Applications = nil
	}
	d.Body = rawJSON(body)
	var err error
	if d.PlannedAt, err = parseSQLiteTime(planned); err != nil {
		return Deployment{}, err
	}
	if d.CreatedAt, err = parseSQLiteTime(created); err != nil {
		return Deployment{}, err
	}
	if d.UpdatedAt, err = parseSQLiteTime(updated); err != nil {
		return Deployment{}, err
	}
	return d, nil
}

// ClaimOnce implements Store.
func (s *sqliteStore) ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if err := checkOnceKey(key); err != nil {
		return false, err
	}
	now := sqliteTime(time.Now())
	if _, err := s.w.ExecContext(ctx, `DELETE FROM once_keys WHERE key IN
  (SELECT key FROM once_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT 100)`, now); err != nil {
		return false, fmt.Errorf("store: prune once keys: %w", err)
	}
	// An expired claim of the same key is taken over; a live one wins.
	res, err := s.w.ExecContext(ctx, `INSERT INTO once_keys (key, expires_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE once_keys.expires_at <= ?`,
		key, sqliteTime(expires), now)
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
		if _, err := s.w.ExecContext(ctx, `DELETE FROM once_keys WHERE key IN
  (SELECT key FROM once_keys ORDER BY expires_at DESC, key LIMIT -1 OFFSET ?)`, MaxOnceKeys); err != nil {
			return true, fmt.Errorf("store: bound once keys: %w", err)
		}
	}
	return true, nil
}

// ReleaseOnce implements Store.
func (s *sqliteStore) ReleaseOnce(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM once_keys WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: release once key: %w", err)
	}
	return nil
}
