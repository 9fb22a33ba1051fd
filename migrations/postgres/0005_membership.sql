-- The same changes as migrations/sqlite/0005_membership.sql, in PostgreSQL's dialect.
ALTER TABLE users ADD COLUMN role TEXT;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

ALTER TABLE rooms ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
ALTER TABLE rooms ADD COLUMN archived_at BIGINT;

CREATE TABLE memberships (
    room_id BIGINT NOT NULL REFERENCES rooms(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role    TEXT   NOT NULL,
    since   BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, room_id);

CREATE TABLE bans (
    room_id    BIGINT NOT NULL REFERENCES rooms(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    reason     TEXT,
    until      BIGINT,
    by_user    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE mutes (
    room_id    BIGINT NOT NULL REFERENCES rooms(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    until      BIGINT,
    by_user    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
