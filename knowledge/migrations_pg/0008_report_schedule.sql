-- Senpai schema version 8 on PostgreSQL (twin of migrations/0008_report_schedule.sql).
ALTER TABLE guild_settings ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE report_schedules (
    guild_id   BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL,
    rhythm     TEXT    NOT NULL CHECK (rhythm IN ('weekly', 'monthly')),
    next_due   TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX report_schedules_due ON report_schedules (next_due);

CREATE TABLE scheduled_reports (
    guild_id     BIGINT NOT NULL,
    period_start TEXT    NOT NULL,
    period_end   TEXT    NOT NULL,
    rhythm       TEXT    NOT NULL CHECK (rhythm IN ('weekly', 'monthly')),
    channel_id   BIGINT NOT NULL,
    message_id   BIGINT,
    state        TEXT    NOT NULL CHECK (state IN ('claimed', 'posted', 'skipped')),
    claimed_at   TEXT    NOT NULL,
    done_at      TEXT,
    PRIMARY KEY (guild_id, period_start, period_end)
);
