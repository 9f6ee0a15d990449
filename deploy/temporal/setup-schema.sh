#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas up to the version that
# this admin-tools image ships (it must match the temporalio/server image's version).
#
# Run by the one-shot `temporal-schema-setup` service (temporalio/admin-tools image) before the
# Temporal server starts. Idempotent: `create` ignores an existing database, `setup-schema -v 0.0`
# keeps a newer recorded version, and `update-schema` applies only the missing versions, so it
# runs again harmlessly on every `docker compose up` and performs upgrades when the images are
# bumped.
#
# Environment: POSTGRES_SEEDS (host), DB_PORT, POSTGRES_USER, SQL_PASSWORD (read by
# temporal-sql-tool itself), DBNAME, VISIBILITY_DBNAME.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
DB_PORT=${DB_PORT:-5432}
DBNAME=${DBNAME:-temporal}
VISIBILITY_DBNAME=${VISIBILITY_DBNAME:-temporal_visibility}
SCHEMA_DIR=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

# PostgreSQL is healthy before this runs (depends_on), but retry the first connection anyway.
i=0
until sql --db "$DBNAME" create; do
  i=$((i + 1))
  if [ "$i" -ge 30 ]; then
    echo "cannot reach PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}" >&2
    exit 1
  fi
  echo "PostgreSQL not ready (try ${i}), retrying"
  sleep 2
done

for pair in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
  db=${pair%%:*}
  kind=${pair#*:}
  echo "database ${db}: create, setup, update (${SCHEMA_DIR}/${kind}/versioned)"
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "${SCHEMA_DIR}/${kind}/versioned"
done

echo "Temporal schema is up to date"
