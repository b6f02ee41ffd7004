-- Audit trail. No foreign keys: events outlive the users they mention.
CREATE TABLE audit_events (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    occurred_at TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actor_id BLOB,
    target_id BLOB,
    ip TEXT,
    user_agent TEXT,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object')
) STRICT;

CREATE INDEX audit_events_actor ON audit_events (actor_id, occurred_at);
CREATE INDEX audit_events_target ON audit_events (target_id, occurred_at);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
