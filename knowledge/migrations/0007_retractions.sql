-- Senpai schema: what Senpai said in Discord about content that is gone.
-- When an entry leaves the knowledge base (its asker or answerer was forgotten, its
-- post deleted or unsolved), every post where Senpai had suggested it, and every
-- "solved by an earlier thread" note pointing at it, is queued here; the bot then
-- removes the entry from those messages (its title, answer gist and solver's name),
-- so nothing of forgotten content stays on display. Rows go once handled.

CREATE TABLE retractions (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,
    entry_id        INTEGER NOT NULL,
    entry_thread_id INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    UNIQUE (channel_id, entry_id)
);
CREATE INDEX retractions_guild ON retractions (guild_id);
