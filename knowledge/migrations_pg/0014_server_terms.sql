-- Senpai schema version 14 on PostgreSQL (twin of migrations/0014_server_terms.sql):
-- document frequencies per server.
--
-- term_frequencies counted a term over every server, so one server's threads
-- shifted the weights of another server's question terms. It now counts per
-- server and term, kept by knowledge/lexical_pg.py in the same transaction as
-- entry_terms; a lookup stays one index probe per term.
DROP TABLE term_frequencies;
CREATE TABLE term_frequencies (
    guild_id  BIGINT NOT NULL,
    term      TEXT   NOT NULL,
    documents BIGINT NOT NULL,
    PRIMARY KEY (guild_id, term)
);
INSERT INTO term_frequencies (guild_id, term, documents)
SELECT guild_id, term, COUNT(*) FROM entry_terms GROUP BY guild_id, term;
