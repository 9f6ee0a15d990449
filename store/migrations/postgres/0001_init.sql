-- Initial schema (PostgreSQL). Identifier-like columns use the "C" collation
-- so ordering is bytewise, matching SQLite, whatever the database locale.

CREATE TABLE incidents (
    workflow_id text COLLATE "C" NOT NULL PRIMARY KEY,
    run_id      text        NOT NULL DEFAULT '',
    alert_name  text        NOT NULL DEFAULT '',
    application text        NOT NULL DEFAULT '',
    severity    text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT '',
    language    text        NOT NULL DEFAULT '',
    report      text        NOT NULL DEFAULT '',
    alert       jsonb,
    details     jsonb,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX incidents_created_idx     ON incidents (created_at DESC, workflow_id);
CREATE INDEX incidents_status_idx      ON incidents (status, created_at DESC);
CREATE INDEX incidents_application_idx ON incidents (application, created_at DESC);

CREATE TABLE role_versions (
    code       text COLLATE "C" NOT NULL,
    version    integer     NOT NULL CHECK (version > 0),
    spec       jsonb,
    author     text        NOT NULL DEFAULT '',
    comment    text        NOT NULL DEFAULT '',
    deleted    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (code, version)
);

CREATE TABLE llm_calls (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    ts            timestamptz      NOT NULL,
    client        text COLLATE "C" NOT NULL DEFAULT '',
    role          text COLLATE "C" NOT NULL DEFAULT '',
    role_version  integer          NOT NULL DEFAULT 0,
    provider      text COLLATE "C" NOT NULL DEFAULT '',
    model         text COLLATE "C" NOT NULL DEFAULT '',
    subject       text             NOT NULL DEFAULT '',
    request       jsonb,
    response      text             NOT NULL DEFAULT '',
    status        text             NOT NULL DEFAULT 'ok',
    error         text             NOT NULL DEFAULT '',
    latency_ms    bigint           NOT NULL DEFAULT 0,
    input_tokens  bigint           NOT NULL DEFAULT 0,
    output_tokens bigint           NOT NULL DEFAULT 0,
    cost_usd      double precision NOT NULL DEFAULT 0,
    workflow_id   text COLLATE "C" NOT NULL DEFAULT '',
    attempt       integer          NOT NULL DEFAULT 0
);
CREATE INDEX llm_calls_ts_idx          ON llm_calls (ts DESC, id);
CREATE INDEX llm_calls_client_ts_idx   ON llm_calls (client, ts DESC);
CREATE INDEX llm_calls_workflow_id_idx ON llm_calls (workflow_id);

CREATE TABLE api_keys (
    hash       text        NOT NULL PRIMARY KEY,
    client     text        NOT NULL,
    org        text        NOT NULL DEFAULT '',
    scopes     text[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL
);
