-- Signed-in sessions. Only the SHA-256 of the cookie token is stored.
CREATE TABLE user_sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_digest BYTEA NOT NULL UNIQUE CHECK (octet_length(token_digest) = 32),
    kind TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_active_at TIMESTAMPTZ NOT NULL,
    sudo_at TIMESTAMPTZ
);

CREATE INDEX user_sessions_user_id ON user_sessions (user_id, last_active_at);
