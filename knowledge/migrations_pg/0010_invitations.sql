-- Senpai schema version 10 on PostgreSQL (twin of migrations/0010_invitations.sql).
CREATE TABLE invite_opt_ins (
    user_id    BIGINT NOT NULL,
    guild_id   BIGINT NOT NULL,
    lang       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, guild_id)
);
CREATE INDEX invite_opt_ins_guild ON invite_opt_ins (guild_id);

CREATE TABLE invitations (
    thread_id         BIGINT NOT NULL,
    user_id           BIGINT NOT NULL,
    guild_id          BIGINT NOT NULL,
    asker_id          BIGINT NOT NULL,
    earlier_thread_id BIGINT NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    invited_at        TEXT    NOT NULL,
    replied_at        TEXT,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX invitations_user ON invitations (user_id, invited_at);
CREATE INDEX invitations_guild ON invitations (guild_id, invited_at);
CREATE INDEX invitations_asker ON invitations (asker_id);
