-- Users, rooms and messages. Timestamps are microseconds since the Unix epoch
-- (UTC) so that SQLite and PostgreSQL store exactly the same values.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    -- Lower-cased username: names are unique without regard to case.
    username_key  TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    topic      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    -- The room's last message sequence number: messages are numbered 1, 2, 3
    -- per room, without gaps, in commit order.
    last_seq   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    -- AUTOINCREMENT: ids are never reused, so a resume cursor can never point
    -- at a different message than the one the client saw.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id    INTEGER NOT NULL REFERENCES rooms(id),
    seq        INTEGER NOT NULL,
    author_id  INTEGER NOT NULL REFERENCES users(id),
    content    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    -- Chosen by the sending client; a resend with the same value is the same message.
    client_id  TEXT
);

CREATE INDEX messages_room_id ON messages(room_id, id);
CREATE UNIQUE INDEX messages_room_seq ON messages(room_id, seq);
CREATE UNIQUE INDEX messages_client_id ON messages(author_id, client_id) WHERE client_id IS NOT NULL;
