-- Passkeys: each user's WebAuthn credentials, and the server side of the ceremonies in
-- progress. A passkey row holds only public material (webauthn-rs's serialised `Passkey`:
-- the public key, the counter, flags); a challenge row is keyed by the SHA-256 of the id the
-- browser holds. Times are UTC text like everywhere else.
--
-- A credential id belongs to one passkey of one user: the unique index is what refuses a
-- second registration of the same authenticator (and serves every login's lookup).
CREATE TABLE user_passkeys (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL UNIQUE CHECK (length(credential_id) > 0),
    passkey TEXT NOT NULL,
    nickname TEXT NOT NULL,
    aaguid BLOB CHECK (aaguid IS NULL OR length(aaguid) = 16),
    -- The transports the browser reported, as a JSON array.
    transports TEXT,
    -- The last signature counter seen; never lowered (0 for synced passkeys).
    sign_count INTEGER NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    created_at TEXT NOT NULL,
    last_used_at TEXT
) STRICT;

CREATE INDEX user_passkeys_user_id ON user_passkeys (user_id, created_at);

-- One row per WebAuthn ceremony between its start and its finish, taken (deleted) once by
-- the finish. `user_id` is NULL for discoverable logins. Expired rows are pruned.
CREATE TABLE webauthn_challenges (
    digest BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),
    purpose TEXT NOT NULL,
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
