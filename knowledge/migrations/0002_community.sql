-- Senpai schema version 2: per-guild settings, questions (for the community's
-- figures), scheduled nudges and resumable backfills.

CREATE TABLE guild_settings (
    guild_id         INTEGER PRIMARY KEY,
    watched_forums   TEXT    NOT NULL DEFAULT '[]',
    helper_roles     TEXT    NOT NULL DEFAULT '[]',
    solved_tag       TEXT,
    threshold        REAL,
    language         TEXT    NOT NULL DEFAULT 'auto' CHECK (language IN ('auto', 'ja', 'en')),
    nudge_hours      REAL    NOT NULL DEFAULT 24,
    archive_on_solve INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT    NOT NULL
);

-- Every post opened in a watched forum: asked, first answered, solved.
CREATE TABLE questions (
    thread_id      INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    forum_id       INTEGER NOT NULL,
    asker_id       INTEGER NOT NULL,
    asked_at       TEXT    NOT NULL,
    first_reply_at TEXT,
    solved_at      TEXT,
    solved_via     TEXT CHECK (solved_via IN ('marked', 'suggestion')),
    duplicate_of   INTEGER,
    suggested      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX questions_guild ON questions (guild_id, asked_at);
CREATE INDEX questions_asker ON questions (asker_id);

-- "Did this reply solve it?" asked once per post, survives restarts.
CREATE TABLE nudges (
    thread_id     INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    asker_id      INTEGER NOT NULL,
    due_at        TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'done')),
    candidate_id  INTEGER
);
CREATE INDEX nudges_due ON nudges (state, due_at);
CREATE INDEX nudges_asker ON nudges (asker_id);

-- Where a backfill of a forum's archived posts got to, so it can resume.
CREATE TABLE backfill_state (
    forum_id   INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    before     TEXT,
    finished   INTEGER NOT NULL DEFAULT 0,
    seen       INTEGER NOT NULL DEFAULT 0,
    captured   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT    NOT NULL
);
