-- Fixed-window rate-limit counters, shared by every app instance.
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window_start TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;

CREATE INDEX rate_limits_window_start ON rate_limits (window_start);
