-- Sessions: one per login, ended by logout, by a password change or when a
-- spent refresh token comes back. Access tokens name their session, so an
-- ended one is refused at once. Only hashes of refresh tokens are kept.
CREATE TABLE sessions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL REFERENCES users(id),
    created_at         INTEGER NOT NULL,
    -- Moves on login and on every refresh (not on every request: that would
    -- be a write per request).
    last_used_at       INTEGER NOT NULL,
    user_agent         TEXT,
    address            TEXT,
    -- SHA-256 of the session's current refresh token, hex.
    refresh_hash       TEXT    NOT NULL UNIQUE,
    refresh_expires_at INTEGER NOT NULL,
    -- NULL while the session lives.
    ended_at           INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id, ended_at);

-- Refresh tokens already rotated away: one coming back means it was copied,
-- and its session is ended.
CREATE TABLE spent_refresh_tokens (
    hash       TEXT    PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id)
);
