-- Senpai schema version 2 on PostgreSQL (twin of migrations/0002_community.sql).

CREATE TABLE guild_settings (
    guild_id         BIGINT PRIMARY KEY,
    watched_forums   TEXT    NOT NULL DEFAULT '[]',
    helper_roles     TEXT    NOT NULL DEFAULT '[]',
    solved_tag       TEXT,
    threshold        DOUBLE PRECISION,
    language         TEXT    NOT NULL DEFAULT 'auto' CHECK (language IN ('auto', 'ja', 'en')),
    nudge_hours      DOUBLE PRECISION NOT NULL DEFAULT 24,
    archive_on_solve INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT    NOT NULL
);

CREATE TABLE questions (
    thread_id      BIGINT PRIMARY KEY,
    guild_id       BIGINT  NOT NULL,
    forum_id       BIGINT  NOT NULL,
    asker_id       BIGINT  NOT NULL,
    asked_at       TEXT    NOT NULL,
    first_reply_at TEXT,
    solved_at      TEXT,
    solved_via     TEXT CONSTRAINT questions_solved_via_check
                        CHECK (solved_via IN ('marked', 'suggestion')),
    duplicate_of   BIGINT,
    suggested      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX questions_guild ON questions (guild_id, asked_at);
CREATE INDEX questions_asker ON questions (asker_id);

CREATE TABLE nudges (
    thread_id     BIGINT PRIMARY KEY,
    guild_id      BIGINT NOT NULL,
    asker_id      BIGINT NOT NULL,
    due_at        TEXT   NOT NULL,
    state         TEXT   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'done')),
    candidate_id  BIGINT
);
CREATE INDEX nudges_due ON nudges (state, due_at);
CREATE INDEX nudges_asker ON nudges (asker_id);

CREATE TABLE backfill_state (
    forum_id   BIGINT PRIMARY KEY,
    guild_id   BIGINT  NOT NULL,
    before     TEXT,
    finished   INTEGER NOT NULL DEFAULT 0,
    seen       BIGINT  NOT NULL DEFAULT 0,
    captured   BIGINT  NOT NULL DEFAULT 0,
    updated_at TEXT    NOT NULL
);
