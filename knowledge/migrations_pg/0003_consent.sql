-- Senpai schema version 3 on PostgreSQL (twin of migrations/0003_consent.sql).

CREATE TABLE capture_opt_outs (
    user_id    BIGINT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE guild_departures (
    guild_id BIGINT PRIMARY KEY,
    left_at  TEXT NOT NULL
);
