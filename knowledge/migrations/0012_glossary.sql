-- Senpai schema version 12: each server's own Japanese/English terms (its product
-- vocabulary), added by its admins, extending the shipped glossary of the bridge.

-- One row per Japanese term of a server; ``english`` holds its English synonyms
-- separated by '|'. ``added_by`` is the member who added it, NULL once that member
-- is forgotten (the terms are the community's vocabulary and stay).
CREATE TABLE glossary_terms (
    guild_id INTEGER NOT NULL,
    japanese TEXT    NOT NULL,
    english  TEXT    NOT NULL,
    added_by INTEGER,
    added_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, japanese)
);
CREATE INDEX glossary_terms_added_by ON glossary_terms (added_by);

-- A server's glossary version: a new value of the store-wide counter
-- kb_meta.glossary_revision at each change, so every process can tell that its
-- cached glossary of the server is stale with one lookup.
CREATE TABLE glossary_versions (
    guild_id INTEGER PRIMARY KEY,
    version  INTEGER NOT NULL
);

INSERT INTO kb_meta (key, value) VALUES ('glossary_revision', '0');
