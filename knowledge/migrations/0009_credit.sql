-- Senpai schema version 9: credit for helpers. Authors hear (by direct message) that their
-- answer was chosen or solved a later post; a monthly thanks post; a role after N
-- accepted answers. What is counted is derived from entries, answer parts and
-- "solved it" feedback; these tables keep only the choices and what was done once.

-- Per server: where the monthly thanks goes (and since when), the automatic role.
CREATE TABLE credit_settings (
    guild_id       INTEGER PRIMARY KEY,
    thanks_channel INTEGER,
    thanks_since   TEXT,
    role_id        INTEGER,
    role_after     INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT    NOT NULL
);

-- Per member, in every server: direct-message notices and being listed on boards.
CREATE TABLE credit_prefs (
    user_id    INTEGER PRIMARY KEY,
    notices    INTEGER NOT NULL DEFAULT 1,
    listed     INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT    NOT NULL
);

-- Each credit a helper was told about, once: 'accepted' (their answer was chosen in
-- post ``thread_id``) or 'reused' (post ``thread_id`` was solved by their earlier
-- answer). Claimed before the message is sent, so a restart never repeats it.
CREATE TABLE credit_notices (
    kind        TEXT    NOT NULL CHECK (kind IN ('accepted', 'reused')),
    thread_id   INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    guild_id    INTEGER NOT NULL,
    entry_id    INTEGER NOT NULL,
    happened_at TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'off')),
    claimed_at  TEXT    NOT NULL,
    PRIMARY KEY (kind, thread_id, user_id)
);
CREATE INDEX credit_notices_user ON credit_notices (user_id, claimed_at);
CREATE INDEX credit_notices_guild ON credit_notices (guild_id);

-- The monthly thanks post: one row per server and month ('YYYY-MM'), claimed before
-- posting so that restarts and a second process post once.
CREATE TABLE credit_thanks (
    guild_id   INTEGER NOT NULL,
    month      TEXT    NOT NULL,
    channel_id INTEGER,
    message_id INTEGER,
    state      TEXT    NOT NULL CHECK (state IN ('posting', 'posted', 'empty', 'skipped')),
    claimed_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, month)
);

-- Every automatic role decision: 'granted' by Senpai, or 'had' (the member already
-- held it; Senpai did not grant it). A member is never given the role twice.
CREATE TABLE credit_roles (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    role_id  INTEGER NOT NULL,
    state    TEXT    NOT NULL CHECK (state IN ('granted', 'had')),
    at       TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, role_id)
);
CREATE INDEX credit_roles_user ON credit_roles (user_id);
