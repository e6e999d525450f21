-- Senpai schema version 5: what the community manager's report needs.
-- * guild_settings.staff_roles: the roles an admin names as staff (to split who
--   answers first: staff or members).
-- * questions: the post's title (masked, for the list of unanswered posts), the
--   roles of the first replier (JSON list of role ids; NULL when not known), when
--   the post was deleted, and 'history' as a way of being solved (inferred from a
--   thread's messages by an import or a backfill). SQLite cannot change a CHECK
--   constraint in place, so the table is rebuilt.

ALTER TABLE guild_settings ADD COLUMN staff_roles TEXT NOT NULL DEFAULT '[]';

CREATE TABLE questions_new (
    thread_id         INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    forum_id          INTEGER NOT NULL,
    asker_id          INTEGER NOT NULL,
    asked_at          TEXT    NOT NULL,
    first_reply_at    TEXT,
    solved_at         TEXT,
    solved_via        TEXT CHECK (solved_via IN ('marked', 'suggestion', 'history')),
    duplicate_of      INTEGER,
    suggested         INTEGER NOT NULL DEFAULT 0,
    title             TEXT    NOT NULL DEFAULT '',
    first_reply_roles TEXT,
    deleted_at        TEXT
);
INSERT INTO questions_new (thread_id, guild_id, forum_id, asker_id, asked_at, first_reply_at,
                           solved_at, solved_via, duplicate_of, suggested)
    SELECT thread_id, guild_id, forum_id, asker_id, asked_at, first_reply_at,
           solved_at, solved_via, duplicate_of, suggested
    FROM questions;
DROP TABLE questions;
ALTER TABLE questions_new RENAME TO questions;
CREATE INDEX questions_guild ON questions (guild_id, asked_at);
CREATE INDEX questions_asker ON questions (asker_id);
CREATE INDEX questions_duplicate ON questions (duplicate_of);
CREATE INDEX entries_guild_solved ON entries (guild_id, solved_at);
