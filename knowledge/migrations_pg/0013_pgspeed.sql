-- Senpai schema version 13 on PostgreSQL: lookups whose cost does not grow with
-- the whole base (twin of migrations/0013_pgspeed.sql, a no-op there).
--
-- term_frequencies: per term, how many entries of all servers hold it (the
-- document frequencies the retriever weighs a question's terms by, which FTS5's
-- vocabulary table gives SQLite). knowledge/lexical_pg.py keeps it in the same
-- transaction as entry_terms, so a lookup is one index probe per term instead of
-- a count of the term's postings over the whole base (about 100,000 of them for a
-- word every entry holds, at 100k entries). A term leaves it with its last entry.
CREATE TABLE term_frequencies (
    term      TEXT   PRIMARY KEY,
    documents BIGINT NOT NULL
);
INSERT INTO term_frequencies (term, documents)
SELECT term, COUNT(*) FROM entry_terms GROUP BY term;

-- lexical_scopes: per server and scope, how many entries it holds (the count of
-- the entries a question may see, asked before every suggestion), kept with
-- lexical_stats by knowledge/lexical_pg.py; counting them instead reads every
-- index entry of the server (90,000 for a server of that size).
CREATE TABLE lexical_scopes (
    guild_id  BIGINT NOT NULL,
    scope     TEXT   NOT NULL,
    documents BIGINT NOT NULL,
    PRIMARY KEY (guild_id, scope)
);
INSERT INTO lexical_scopes (guild_id, scope, documents)
SELECT guild_id, scope, COUNT(*) FROM entry_text GROUP BY guild_id, scope;

-- Substring search in a small server reads that server's rows, not every row of
-- the base whose text holds the needle's trigrams.
CREATE INDEX entry_text_guild ON entry_text (guild_id, scope);
