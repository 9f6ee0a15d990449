-- The durable record of each deployment's change tracking, kept after the
-- workflow's history is gone. applications is a JSON array of names,
-- filtered with json_each; seq orders saves so a stale one is ignored.
CREATE TABLE deployments (
    id           TEXT    NOT NULL PRIMARY KEY,
    workflow_id  TEXT    NOT NULL,
    version      TEXT    NOT NULL DEFAULT '',
    planned_at   TEXT    NOT NULL,
    applications TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    status       TEXT    NOT NULL,
    gate         TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL DEFAULT '',
    seq          INTEGER NOT NULL DEFAULT 0,
    body         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
CREATE INDEX deployments_planned_idx ON deployments (planned_at DESC, id);
CREATE INDEX deployments_status_idx  ON deployments (status, planned_at DESC);
CREATE INDEX deployments_state_idx   ON deployments (state, planned_at DESC);
