-- The rate budgets shared by every process and both call paths of the gateway: one GCRA row per
-- provider model (store.TakeRate). tat is the theoretical arrival time of the next slot, in
-- microseconds since the Unix epoch; taken says whether the last call took a slot.
CREATE TABLE rate_budgets (
    key   TEXT    NOT NULL PRIMARY KEY,
    tat   INTEGER NOT NULL,
    taken INTEGER NOT NULL
);
