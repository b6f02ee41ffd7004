-- Confirmation, reset, magic-link and email-change tokens (digests only).
CREATE TABLE user_email_tokens (
    context TEXT NOT NULL,
    digest BLOB NOT NULL CHECK (length(digest) = 32),
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_to TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (context, digest)
) STRICT;

CREATE INDEX user_email_tokens_user_id ON user_email_tokens (user_id);
