-- Senpai schema version 12 on PostgreSQL (twin of migrations/0012_glossary.sql).
CREATE TABLE glossary_terms (
    guild_id BIGINT NOT NULL,
    japanese TEXT   NOT NULL,
    english  TEXT   NOT NULL,
    added_by BIGINT,
    added_at TEXT   NOT NULL,
    PRIMARY KEY (guild_id, japanese)
);
CREATE INDEX glossary_terms_added_by ON glossary_terms (added_by);

CREATE TABLE glossary_versions (
    guild_id BIGINT PRIMARY KEY,
    version  BIGINT NOT NULL
);

INSERT INTO kb_meta (key, value) VALUES ('glossary_revision', '0');
