-- The same table as migrations/sqlite/0003_invites.sql, in PostgreSQL's dialect.
CREATE TABLE invites (
    id         BIGSERIAL PRIMARY KEY,
    code_hash  TEXT   NOT NULL UNIQUE,
    uses_left  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
