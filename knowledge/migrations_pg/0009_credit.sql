-- Senpai schema version 9 on PostgreSQL (twin of migrations/0009_credit.sql).
CREATE TABLE credit_settings (
    guild_id       BIGINT PRIMARY KEY,
    thanks_channel BIGINT,
    thanks_since   TEXT,
    role_id        BIGINT,
    role_after     INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT    NOT NULL
);

CREATE TABLE credit_prefs (
    user_id    BIGINT PRIMARY KEY,
    notices    INTEGER NOT NULL DEFAULT 1,
    listed     INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT    NOT NULL
);

CREATE TABLE credit_notices (
    kind        TEXT    NOT NULL CHECK (kind IN ('accepted', 'reused')),
    thread_id   BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    guild_id    BIGINT NOT NULL,
    entry_id    BIGINT NOT NULL,
    happened_at TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'off')),
    claimed_at  TEXT    NOT NULL,
    PRIMARY KEY (kind, thread_id, user_id)
);
CREATE INDEX credit_notices_user ON credit_notices (user_id, claimed_at);
CREATE INDEX credit_notices_guild ON credit_notices (guild_id);

CREATE TABLE credit_thanks (
    guild_id   BIGINT NOT NULL,
    month      TEXT    NOT NULL,
    channel_id BIGINT,
    message_id BIGINT,
    state      TEXT    NOT NULL CHECK (state IN ('posting', 'posted', 'empty', 'skipped')),
    claimed_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, month)
);

CREATE TABLE credit_roles (
    guild_id BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    role_id  BIGINT NOT NULL,
    state    TEXT    NOT NULL CHECK (state IN ('granted', 'had')),
    at       TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, role_id)
);
CREATE INDEX credit_roles_user ON credit_roles (user_id);
