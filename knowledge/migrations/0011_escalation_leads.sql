-- Senpai schema: the close solved threads a staff escalation message listed.
-- When one of them leaves the knowledge base (its member was forgotten, its post
-- deleted or unsolved), a retraction is queued for the staff channel, and the bot
-- takes that thread's line out of every staff message that listed it, so nothing of
-- forgotten content stays on display there either. Ids only; rows go with the
-- retraction, or with the server.

CREATE TABLE escalation_leads (
    thread_id       INTEGER NOT NULL,
    guild_id        INTEGER NOT NULL,
    entry_id        INTEGER NOT NULL,
    entry_thread_id INTEGER NOT NULL,
    PRIMARY KEY (thread_id, entry_id)
);
CREATE INDEX escalation_leads_entry ON escalation_leads (entry_id);
CREATE INDEX escalation_leads_guild ON escalation_leads (guild_id);
