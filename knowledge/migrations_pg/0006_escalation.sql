-- Senpai schema version 6 on PostgreSQL (twin of migrations/0006_escalation.sql).

ALTER TABLE guild_settings
    ADD COLUMN staff_channel    BIGINT,
    ADD COLUMN escalation_hours DOUBLE PRECISION NOT NULL DEFAULT 24,
    ADD COLUMN me_too_on_posts  INTEGER NOT NULL DEFAULT 0;

CREATE TABLE escalations (
    thread_id    BIGINT PRIMARY KEY,
    guild_id     BIGINT  NOT NULL,
    asker_id     BIGINT  NOT NULL,
    channel_id   BIGINT,
    message_id   BIGINT,
    state        TEXT    NOT NULL CHECK (state IN ('open', 'skipped', 'answered', 'solved', 'deleted')),
    post_deleted INTEGER NOT NULL DEFAULT 0,
    escalated_at TEXT    NOT NULL,
    closed_at    TEXT
);
CREATE INDEX escalations_guild ON escalations (guild_id, escalated_at);
CREATE INDEX escalations_state ON escalations (state);
CREATE INDEX escalations_asker ON escalations (asker_id);

CREATE TABLE me_too (
    thread_id BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    guild_id  BIGINT NOT NULL,
    at        TEXT   NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX me_too_user ON me_too (user_id);
CREATE INDEX me_too_guild ON me_too (guild_id, at);

CREATE TABLE me_too_notices (
    thread_id   BIGINT PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    notified_at TEXT   NOT NULL
);

-- The escalation query (knowledge/community.py, due_escalations) compares ISO
-- timestamps in days, as SQLite's julianday() does: the same function here, so
-- the statement stays one for both engines.
CREATE FUNCTION julianday(value TEXT) RETURNS DOUBLE PRECISION
    LANGUAGE SQL STABLE STRICT
    AS $$ SELECT CAST(EXTRACT(EPOCH FROM CAST(value AS TIMESTAMPTZ)) AS DOUBLE PRECISION)
                 / 86400.0 + 2440587.5 $$;
