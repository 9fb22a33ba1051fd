-- Issue 12: private and direct rooms, room roles, moderation, server admins.

-- 'admin' or NULL. A column rather than a flag so that more server roles
-- can come without another migration.
ALTER TABLE users ADD COLUMN role TEXT;
-- Set while the account may not log in (its sessions were ended then).
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- public | private | direct. The chapter's rooms, and every room created
-- before this, stay public.
ALTER TABLE rooms ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
-- A deleted room whose history is kept: hidden everywhere, but its row (and
-- so its name) stays, so that nobody can take the name over and read its past.
ALTER TABLE rooms ADD COLUMN archived_at INTEGER;

CREATE TABLE memberships (
    room_id INTEGER NOT NULL REFERENCES rooms(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    -- member | moderator | owner
    role    TEXT    NOT NULL,
    since   INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
-- "My rooms" and the periodic re-check of who may stay subscribed.
CREATE INDEX memberships_user ON memberships (user_id, room_id);

-- One row per banned user and room: a new ban replaces the old one.
CREATE TABLE bans (
    room_id    INTEGER NOT NULL REFERENCES rooms(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    reason     TEXT,
    -- NULL: until lifted. A ban whose time has passed counts as none; it is
    -- not deleted, so nothing has to run when it ends.
    until      INTEGER,
    -- Who banned; NULL if that account is gone.
    by_user    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE mutes (
    room_id    INTEGER NOT NULL REFERENCES rooms(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    until      INTEGER,
    by_user    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
