-- One record per incident and notification channel: a delivery is sent once.
CREATE TABLE deliveries (
    incident_id TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    at          TEXT    NOT NULL,
    PRIMARY KEY (incident_id, channel)
);
