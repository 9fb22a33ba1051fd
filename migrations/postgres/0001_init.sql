-- The same schema as migrations/sqlite/0001_init.sql, in PostgreSQL's dialect.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT   NOT NULL,
    username_key  TEXT   NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE rooms (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    topic      TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    id         BIGSERIAL PRIMARY KEY,
    room_id    BIGINT NOT NULL REFERENCES rooms(id),
    seq        BIGINT NOT NULL,
    author_id  BIGINT NOT NULL REFERENCES users(id),
    content    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    client_id  TEXT
);

CREATE INDEX messages_room_id ON messages(room_id, id);
CREATE UNIQUE INDEX messages_room_seq ON messages(room_id, seq);
CREATE UNIQUE INDEX messages_client_id ON messages(author_id, client_id) WHERE client_id IS NOT NULL;
