-- Senpai schema version 8: the server's time zone, and scheduled community reports.
-- * guild_settings.time_zone: an IANA name (Asia/Tokyo); days, weeks (Monday to
--   Sunday) and calendar months of reports are counted in it.
-- * report_schedules: at most one schedule per server: where the report goes, how
--   often, and when the next one is due (UTC, ISO text).
-- * scheduled_reports: one row per period a scheduled report was claimed for. The
--   row is written, in the same transaction that moves ``next_due`` on, before the
--   report is posted: a period is posted at most once, across restarts and
--   processes. ``state`` says how it went ('skipped' when the channel was gone).

ALTER TABLE guild_settings ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE report_schedules (
    guild_id   INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    rhythm     TEXT    NOT NULL CHECK (rhythm IN ('weekly', 'monthly')),
    next_due   TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX report_schedules_due ON report_schedules (next_due);

CREATE TABLE scheduled_reports (
    guild_id     INTEGER NOT NULL,
    period_start TEXT    NOT NULL,
    period_end   TEXT    NOT NULL,
    rhythm       TEXT    NOT NULL CHECK (rhythm IN ('weekly', 'monthly')),
    channel_id   INTEGER NOT NULL,
    message_id   INTEGER,
    state        TEXT    NOT NULL CHECK (state IN ('claimed', 'posted', 'skipped')),
    claimed_at   TEXT    NOT NULL,
    done_at      TEXT,
    PRIMARY KEY (guild_id, period_start, period_end)
);
