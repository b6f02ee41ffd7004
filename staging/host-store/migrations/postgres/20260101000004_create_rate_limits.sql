-- Fixed-window rate-limit counters, shared by every app instance.
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE INDEX rate_limits_window_start ON rate_limits (window_start);
