-- Senpai schema version 4 on PostgreSQL (twin of migrations/0004_shown.sql).

CREATE TABLE shown (
    thread_id  BIGINT  NOT NULL,
    entry_id   BIGINT  NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    guild_id   BIGINT  NOT NULL,
    asker_id   BIGINT  NOT NULL,
    position   INTEGER NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    confidence DOUBLE PRECISION,
    question   TEXT    NOT NULL,
    shown_at   TEXT    NOT NULL,
    PRIMARY KEY (thread_id, entry_id)
);
CREATE INDEX shown_entry ON shown (entry_id);
CREATE INDEX shown_guild ON shown (guild_id, position);
CREATE INDEX shown_asker ON shown (asker_id);
