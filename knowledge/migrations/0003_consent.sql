-- Senpai schema version 3: consent and retention.

-- Members who asked Senpai not to capture their messages (as questions or answers).
CREATE TABLE capture_opt_outs (
    user_id    INTEGER PRIMARY KEY,
    created_at TEXT    NOT NULL
);

-- Servers the bot was removed from: their data is deleted after a grace period
-- unless the bot comes back first.
CREATE TABLE guild_departures (
    guild_id INTEGER PRIMARY KEY,
    left_at  TEXT    NOT NULL
);
