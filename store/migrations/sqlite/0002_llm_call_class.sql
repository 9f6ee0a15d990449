-- The run, the failure class and reuse of every LLM call, for the usage log.
ALTER TABLE llm_calls ADD COLUMN run_id      TEXT    NOT NULL DEFAULT '';
ALTER TABLE llm_calls ADD COLUMN error_class TEXT    NOT NULL DEFAULT '';
ALTER TABLE llm_calls ADD COLUMN reused      INTEGER NOT NULL DEFAULT 0;
CREATE INDEX llm_calls_role_ts_idx ON llm_calls (role, ts DESC);
