-- Users. Keys are UUID v7 chosen by sigra-core.
CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL,
    hashed_password TEXT,
    confirmed_at TIMESTAMPTZ,
    failed_login_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at TIMESTAMPTZ,
    password_changed_at TIMESTAMPTZ,
    token_epoch BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);

-- One live account per address, ignoring case; deleted accounts free their address.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email)) WHERE deleted_at IS NULL;
