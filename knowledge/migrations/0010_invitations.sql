-- Senpai schema version 10: invite someone who solved it before. Members opt in (per server)
-- to be invited by direct message to new posts close to threads they solved.

-- Members who asked to be invited, per server, and the language they asked in
-- (their invitations are written in it).
CREATE TABLE invite_opt_ins (
    user_id    INTEGER NOT NULL,
    guild_id   INTEGER NOT NULL,
    lang       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, guild_id)
);
CREATE INDEX invite_opt_ins_guild ON invite_opt_ins (guild_id);

-- One row per member invited to a post (never twice: the primary key). The row is
-- written before the direct message is sent ('sending'), then 'sent' or 'failed'
-- (DMs closed): the caps hold across restarts. ``earlier_thread_id`` is the solved
-- thread of theirs the post resembles; ``replied_at`` when they then replied in it.
CREATE TABLE invitations (
    thread_id         INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    guild_id          INTEGER NOT NULL,
    asker_id          INTEGER NOT NULL,
    earlier_thread_id INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    invited_at        TEXT    NOT NULL,
    replied_at        TEXT,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX invitations_user ON invitations (user_id, invited_at);
CREATE INDEX invitations_guild ON invitations (guild_id, invited_at);
CREATE INDEX invitations_asker ON invitations (asker_id);
