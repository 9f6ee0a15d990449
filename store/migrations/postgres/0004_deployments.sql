-- The durable record of each deployment's change tracking, kept after the
-- workflow's history is gone. applications is filtered by containment
-- (GIN index); seq orders saves so a stale one is ignored.
CREATE TABLE deployments (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    workflow_id  text COLLATE "C" NOT NULL,
    version      text             NOT NULL DEFAULT '',
    planned_at   timestamptz      NOT NULL,
    applications text[]           NOT NULL DEFAULT '{}',
    status       text             NOT NULL,
    gate         text             NOT NULL DEFAULT '',
    state        text             NOT NULL DEFAULT '',
    seq          bigint           NOT NULL DEFAULT 0,
    body         jsonb            NOT NULL,
    created_at   timestamptz      NOT NULL,
    updated_at   timestamptz      NOT NULL
);
CREATE INDEX deployments_planned_idx      ON deployments (planned_at DESC, id);
CREATE INDEX deployments_status_idx       ON deployments (status, planned_at DESC);
CREATE INDEX deployments_state_idx        ON deployments (state, planned_at DESC);
CREATE INDEX deployments_applications_idx ON deployments USING gin (applications);
