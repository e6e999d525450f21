-- Senpai knowledge base, schema version 1.
-- SQLite is the source of truth; the FAISS index is derived from `entries`
-- and brought up to date from `revision` / `tombstones`.

CREATE TABLE kb_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One solved forum thread.
CREATE TABLE entries (
    id                  INTEGER PRIMARY KEY,
    guild_id            INTEGER NOT NULL,
    forum_id            INTEGER NOT NULL,
    thread_id           INTEGER NOT NULL UNIQUE,
    title               TEXT    NOT NULL,
    question            TEXT    NOT NULL,
    question_message_id INTEGER,
    asker_id            INTEGER NOT NULL,
    asker_name          TEXT    NOT NULL,
    tags                TEXT    NOT NULL DEFAULT '[]',
    asked_at            TEXT    NOT NULL,
    solved_at           TEXT    NOT NULL,
    jump_url            TEXT    NOT NULL,
    language            TEXT    NOT NULL,
    scope               TEXT    NOT NULL,
    hits                INTEGER NOT NULL DEFAULT 0,
    revision            INTEGER NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);
CREATE INDEX entries_guild_scope ON entries (guild_id, scope);
CREATE INDEX entries_revision ON entries (revision);
CREATE INDEX entries_asker ON entries (asker_id);
CREATE INDEX entries_question_message ON entries (question_message_id);

-- The accepted answer: one or more messages, in order.
CREATE TABLE answer_parts (
    entry_id    INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    author_id   INTEGER NOT NULL,
    author_name TEXT    NOT NULL,
    content     TEXT    NOT NULL,
    PRIMARY KEY (entry_id, position)
) WITHOUT ROWID;
CREATE INDEX answer_parts_message ON answer_parts (message_id);
CREATE INDEX answer_parts_author ON answer_parts (author_id);

-- Entries removed since the index was last brought up to date.
CREATE TABLE tombstones (
    entry_id INTEGER PRIMARY KEY,
    revision INTEGER NOT NULL
);
CREATE INDEX tombstones_revision ON tombstones (revision);

-- Members' verdicts on suggestions.
CREATE TABLE feedback (
    id         INTEGER PRIMARY KEY,
    entry_id   INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    thread_id  INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('helpful', 'not_relevant', 'solved_by_suggestion')),
    created_at TEXT    NOT NULL
);
CREATE INDEX feedback_entry ON feedback (entry_id);
CREATE INDEX feedback_user ON feedback (user_id);
CREATE UNIQUE INDEX feedback_once ON feedback (entry_id, thread_id, user_id, kind);

-- Full-text search, two views of the same text (rowid = entries.id):
-- * entries_fts: the trigram tokenizer, substring matches for identifiers,
--   error codes and text without spaces, and LIKE for needles under 3 chars;
-- * entries_terms: the text segmented by knowledge.lexical (English words,
--   Japanese character bigrams), for ranked matching and IDF weights.
CREATE VIRTUAL TABLE entries_fts USING fts5 (title, body, tokenize = 'trigram');
CREATE VIRTUAL TABLE entries_terms USING fts5 (title, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE entries_terms_vocab USING fts5vocab (entries_terms, 'row');
