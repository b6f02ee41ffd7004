-- Mail "sent" in development, shown at /dev/mailbox instead of going out.
CREATE TABLE dev_mailbox (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    sent_at TEXT NOT NULL
) STRICT;

CREATE INDEX dev_mailbox_sent_at ON dev_mailbox (sent_at);
