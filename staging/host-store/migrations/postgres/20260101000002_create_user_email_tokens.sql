-- Confirmation, reset, magic-link and email-change tokens (digests only).
CREATE TABLE user_email_tokens (
    context TEXT NOT NULL,
    digest BYTEA NOT NULL CHECK (octet_length(digest) = 32),
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_to TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (context, digest)
);

CREATE INDEX user_email_tokens_user_id ON user_email_tokens (user_id);
