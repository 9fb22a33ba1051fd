-- The same tables as migrations/sqlite/0004_sessions.sql, in PostgreSQL's dialect.
CREATE TABLE sessions (
    id                 BIGSERIAL PRIMARY KEY,
    user_id            BIGINT NOT NULL REFERENCES users(id),
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT NOT NULL,
    user_agent         TEXT,
    address            TEXT,
    refresh_hash       TEXT   NOT NULL UNIQUE,
    refresh_expires_at BIGINT NOT NULL,
    ended_at           BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id, ended_at);

CREATE TABLE spent_refresh_tokens (
    hash       TEXT   PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES sessions(id)
);
