-- Senpai schema version 11 on PostgreSQL: lookups whose cost does not grow with
-- the whole base (twin of migrations/0011_pgspeed.sql, a no-op there).
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
