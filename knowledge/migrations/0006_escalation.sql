-- Senpai schema version 6: no question left alone. Posts nobody answered are
-- escalated once to the staff channel; members say "me too" on a post, and are
-- told (without a ping) when it is solved.

ALTER TABLE guild_settings ADD COLUMN staff_channel INTEGER;
ALTER TABLE guild_settings ADD COLUMN escalation_hours REAL NOT NULL DEFAULT 24;
ALTER TABLE guild_settings ADD COLUMN me_too_on_posts INTEGER NOT NULL DEFAULT 0;

-- One row per post considered for escalation: at most one staff message per post,
-- across restarts. ``state`` is 'open' while the post waits, then how it left the
-- list; 'skipped' when no message could be posted (no staff channel, post gone).
CREATE TABLE escalations (
    thread_id    INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    asker_id     INTEGER NOT NULL,
    channel_id   INTEGER,
    message_id   INTEGER,
    state        TEXT    NOT NULL CHECK (state IN ('open', 'skipped', 'answered', 'solved', 'deleted')),
    post_deleted INTEGER NOT NULL DEFAULT 0,
    escalated_at TEXT    NOT NULL,
    closed_at    TEXT
);
CREATE INDEX escalations_guild ON escalations (guild_id, escalated_at);
CREATE INDEX escalations_state ON escalations (state);
CREATE INDEX escalations_asker ON escalations (asker_id);

-- "I have the same problem": one vote per member per post.
CREATE TABLE me_too (
    thread_id INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    guild_id  INTEGER NOT NULL,
    at        TEXT    NOT NULL,
    PRIMARY KEY (thread_id, user_id)
) WITHOUT ROWID;
CREATE INDEX me_too_user ON me_too (user_id);
CREATE INDEX me_too_guild ON me_too (guild_id, at);

-- Posts whose "me too" members were told it is solved (once per post).
CREATE TABLE me_too_notices (
    thread_id   INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    notified_at TEXT    NOT NULL
);
