-- Senpai schema version 4: what was suggested for each post, so that members'
-- verdicts can teach the engine (demote an entry for questions like the one it
-- was wrong for; calibrate each server's confidence threshold).

CREATE TABLE shown (
    thread_id  INTEGER NOT NULL,
    entry_id   INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    asker_id   INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    score      REAL    NOT NULL,
    confidence REAL,
    question   TEXT    NOT NULL,
    shown_at   TEXT    NOT NULL,
    PRIMARY KEY (thread_id, entry_id)
) WITHOUT ROWID;
CREATE INDEX shown_entry ON shown (entry_id);
CREATE INDEX shown_guild ON shown (guild_id, position);
CREATE INDEX shown_asker ON shown (asker_id);
