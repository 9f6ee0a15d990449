-- The run, the failure class and reuse of every LLM call, for the usage log.
ALTER TABLE llm_calls ADD COLUMN run_id      text    NOT NULL DEFAULT '';
ALTER TABLE llm_calls ADD COLUMN error_class text    NOT NULL DEFAULT '';
ALTER TABLE llm_calls ADD COLUMN reused      boolean NOT NULL DEFAULT false;
CREATE INDEX llm_calls_role_ts_idx ON llm_calls (role, ts DESC);
