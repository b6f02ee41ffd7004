-- Signed-in sessions. Only the SHA-256 of the cookie token is stored.
CREATE TABLE user_sessions (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_digest BLOB NOT NULL UNIQUE CHECK (length(token_digest) = 32),
    kind TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    last_active_at TEXT NOT NULL,
    sudo_at TEXT
) STRICT;

CREATE INDEX user_sessions_user_id ON user_sessions (user_id, last_active_at);
