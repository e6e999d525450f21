-- Senpai schema version 11 on PostgreSQL (twin of migrations/0011_escalation_leads.sql).
CREATE TABLE escalation_leads (
    thread_id       BIGINT NOT NULL,
    guild_id        BIGINT NOT NULL,
    entry_id        BIGINT NOT NULL,
    entry_thread_id BIGINT NOT NULL,
    PRIMARY KEY (thread_id, entry_id)
);
CREATE INDEX escalation_leads_entry ON escalation_leads (entry_id);
CREATE INDEX escalation_leads_guild ON escalation_leads (guild_id);
