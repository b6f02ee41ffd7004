-- users: one row per user.
CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL, -- UUID v7, 16 bytes
    email TEXT NOT NULL,
    confirmed_at TEXT,
    inserted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- An email address belongs to one user, whatever its case.
CREATE UNIQUE INDEX users_email_index ON users (lower(email));
