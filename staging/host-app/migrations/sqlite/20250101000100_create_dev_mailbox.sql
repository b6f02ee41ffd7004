-- Mail stored instead of sent in development (no SMTP_URL), listed at /dev/mailbox.
CREATE TABLE dev_mailbox (
    id         TEXT PRIMARY KEY NOT NULL,  -- UUID v7: sorts by creation
    kind       TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT,
    sent_at    TEXT NOT NULL               -- RFC 3339, UTC
);

CREATE INDEX dev_mailbox_sent_at ON dev_mailbox (sent_at DESC, id DESC);
