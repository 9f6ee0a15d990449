-- One record per incident and notification channel: a delivery is sent once.
CREATE TABLE deliveries (
    incident_id text COLLATE "C" NOT NULL,
    channel     text COLLATE "C" NOT NULL,
    status      text             NOT NULL,
    detail      text             NOT NULL DEFAULT '',
    attempts    integer          NOT NULL DEFAULT 0,
    at          timestamptz      NOT NULL,
    PRIMARY KEY (incident_id, channel)
);
