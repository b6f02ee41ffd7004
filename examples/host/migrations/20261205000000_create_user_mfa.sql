-- Multi-factor authentication: each user's TOTP credential and backup codes. The TOTP
-- secret is stored encrypted (sigra-core's keyring, bound to the user) and backup codes only
-- as keyed digests (HMAC-SHA256 under a key of the secret key base): a leak of the database
-- alone gives away neither. Times are UTC text like everywhere else.
--
-- One credential per user and kind (`totp` today); MFA is on for the user exactly when the
-- row has `enabled_at` (NULL while enrolment waits for its first code).
CREATE TABLE user_mfa_credentials (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'totp',
    encrypted_secret TEXT NOT NULL,
    -- The last accepted TOTP time step: a code of this step or an earlier one is refused.
    last_verified_step INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until TEXT,
    -- Bumped to forget every "trust this browser" cookie.
    trust_epoch INTEGER NOT NULL DEFAULT 0,
    enabled_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
) STRICT, WITHOUT ROWID;

-- Backup codes, each used once (`used_at`). The unique index also serves every lookup (all
-- by user).
CREATE TABLE user_backup_codes (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_digest BLOB NOT NULL CHECK (length(code_digest) = 32),
    used_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, code_digest)
) STRICT;
