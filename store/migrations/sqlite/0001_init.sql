-- Initial schema (SQLite). Timestamps are TEXT in the fixed-width UTC form
-- 2006-01-02T15:04:05.000000Z so that they sort and compare lexically.

CREATE TABLE incidents (
    workflow_id TEXT    NOT NULL PRIMARY KEY,
    run_id      TEXT    NOT NULL DEFAULT '',
    alert_name  TEXT    NOT NULL DEFAULT '',
    application TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT '',
    language    TEXT    NOT NULL DEFAULT '',
    report      TEXT    NOT NULL DEFAULT '',
    alert       TEXT,
    details     TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX incidents_created_idx     ON incidents (created_at DESC, workflow_id);
CREATE INDEX incidents_status_idx      ON incidents (status, created_at DESC);
CREATE INDEX incidents_application_idx ON incidents (application, created_at DESC);

CREATE TABLE role_versions (
    code       TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version > 0),
    spec       TEXT,
    author     TEXT    NOT NULL DEFAULT '',
    comment    TEXT    NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (code, version)
) WITHOUT ROWID;

CREATE TABLE llm_calls (
    id            TEXT    NOT NULL PRIMARY KEY,
    ts            TEXT    NOT NULL,
    client        TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL DEFAULT '',
    role_version  INTEGER NOT NULL DEFAULT 0,
    provider      TEXT    NOT NULL DEFAULT '',
    model         TEXT    NOT NULL DEFAULT '',
    subject       TEXT    NOT NULL DEFAULT '',
    request       TEXT,
    response      TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT 'ok',
    error         TEXT    NOT NULL DEFAULT '',
    latency_ms    INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL    NOT NULL DEFAULT 0,
    workflow_id   TEXT    NOT NULL DEFAULT '',
    attempt       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX llm_calls_ts_idx          ON llm_calls (ts DESC, id);
CREATE INDEX llm_calls_client_ts_idx   ON llm_calls (client, ts DESC);
CREATE INDEX llm_calls_workflow_id_idx ON llm_calls (workflow_id);

CREATE TABLE api_keys (
    hash       TEXT NOT NULL PRIMARY KEY,
    client     TEXT NOT NULL,
    org        TEXT NOT NULL DEFAULT '',
    scopes     TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    created_at TEXT NOT NULL
);
