-- Keys that may be claimed once until they expire: the replay guard of signed webhooks and
-- GitHub deliveries, shared by every `vigil server` replica. Expired rows are deleted as new
-- keys are claimed; the table is bounded (store.MaxOnceKeys).
CREATE TABLE once_keys (
    key        text COLLATE "C" NOT NULL PRIMARY KEY,
    expires_at timestamptz      NOT NULL
);
CREATE INDEX once_keys_expires_idx ON once_keys (expires_at);
