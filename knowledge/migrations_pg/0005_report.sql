-- Senpai schema version 5 on PostgreSQL (twin of migrations/0005_report.sql).
-- PostgreSQL changes the CHECK constraint in place: no table rebuild.

ALTER TABLE guild_settings ADD COLUMN staff_roles TEXT NOT NULL DEFAULT '[]';

ALTER TABLE questions
    ADD COLUMN title             TEXT NOT NULL DEFAULT '',
    ADD COLUMN first_reply_roles TEXT,
    ADD COLUMN deleted_at        TEXT,
    DROP CONSTRAINT questions_solved_via_check,
    ADD CONSTRAINT questions_solved_via_check
        CHECK (solved_via IN ('marked', 'suggestion', 'history'));
CREATE INDEX questions_duplicate ON questions (duplicate_of);
CREATE INDEX entries_guild_solved ON entries (guild_id, solved_at);
