package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
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

// postgres is the PostgreSQL dialect: timestamptz, jsonb and text[] columns take Go values
// as they are (a nil list is sent as an empty array, the columns being NOT NULL).
var postgres = dialect{
	name:  "postgres",
	title: "PostgreSQL",
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL
)`,
	lockMigrations: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(pgMigrateLockKey, 10) + ")",
	lockRole:       "SELECT pg_advisory_xact_lock(" + strconv.Itoa(int(pgRoleLockClass)) + ", hashtext($1))",
	hasApplication: "applications @> ARRAY[%s::text]",
	noLimit:        "ALL",
	greatest:       "GREATEST",
	arg: func(v any) any {
		if l, ok := v.([]string); ok && l == nil {
			return []string{}
		}
		return v
	},
	isUniqueViolation: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == pgUniqueViolation
	},
}

// OpenPostgres connects to the PostgreSQL database at url (a postgres:// URL
// or a keyword/value connection string) and applies pending migrations.
// Unrecognised URL parameters such as search_path are sent to the server as
// session settings, so "?search_path=myschema" places Vigil's tables in
// myschema (which must exist). The pool settings of pgxpool (pool_max_conns,
// pool_max_conn_lifetime, pool_max_conn_idle_time) size the connection pool.
func OpenPostgres(ctx context.Context, url string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("store: parse PostgreSQL URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg.ConnConfig)
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	db.SetConnMaxLifetime(cfg.MaxConnLifetime)
	db.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	return newSQLStore(ctx, postgres, db, db, "connect to PostgreSQL")
}
