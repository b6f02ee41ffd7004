-- Indexes for the two session queries every login runs, so that a login costs the same
-- however many sessions the user holds. MFA-pending sessions are neither compared nor
-- counted, so they stay out of both indexes (the queries repeat `kind <> 'mfa_pending'`
-- word for word: that is how SQLite knows a partial index applies).
--
-- The new-address check: does the user have a session from this IP?
CREATE INDEX user_sessions_user_ip ON user_sessions (user_id, ip)
    WHERE kind <> 'mfa_pending';
-- The per-user cap (session.max_per_user): the user's sessions, most recently active first.
CREATE INDEX user_sessions_user_recent ON user_sessions (user_id, last_active_at, created_at, id)
    WHERE kind <> 'mfa_pending';
