-- Users. Keys are UUID v7 chosen by sigra-core, stored as 16-byte BLOBs.
-- Times are UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]', one format everywhere so that text
-- order is time order.
CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    email TEXT NOT NULL,
    hashed_password TEXT,
    confirmed_at TEXT,
    failed_login_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at TEXT,
    password_changed_at TEXT,
    token_epoch INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
) STRICT;

-- One live account per address, ignoring (ASCII) case; deleted accounts free their address.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email)) WHERE deleted_at IS NULL;
