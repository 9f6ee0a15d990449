-- The rate budgets shared by every replica and both call paths of the gateway: one GCRA row per
-- provider model (store.TakeRate). tat is the theoretical arrival time of the next slot, in
-- microseconds since the Unix epoch; taken says whether the last call took a slot.
CREATE TABLE rate_budgets (
    key   text COLLATE "C" NOT NULL PRIMARY KEY,
    tat   bigint           NOT NULL,
    taken boolean          NOT NULL
);
