-- Senpai schema version 14: each server's own document frequencies.
--
-- term_frequencies: per server and term, how many of the server's entries hold
-- the term. The retriever weighs a question's terms by them (inverse document
-- frequency), so one server's threads no longer shift another server's lexical
-- scores, as FTS5's vocabulary table (entries_terms_vocab, counted over every
-- server) did. knowledge/store.py keeps it in the same transaction as
-- entries_terms; a term leaves it with the server's last entry holding it.
CREATE TABLE term_frequencies (
    guild_id  INTEGER NOT NULL,
    term      TEXT    NOT NULL,
    documents INTEGER NOT NULL,
    PRIMARY KEY (guild_id, term)
) WITHOUT ROWID;

-- Filled from what is indexed already: FTS5's instance vocabulary lists each
-- (term, entry) of entries_terms.
CREATE VIRTUAL TABLE temp.entries_terms_instances USING fts5vocab (
    main, entries_terms, 'instance'
);
INSERT INTO term_frequencies (guild_id, term, documents)
SELECT e.guild_id, i.term, COUNT(DISTINCT i.doc)
FROM temp.entries_terms_instances i JOIN entries e ON e.id = i.doc
GROUP BY e.guild_id, i.term;
DROP TABLE temp.entries_terms_instances;
