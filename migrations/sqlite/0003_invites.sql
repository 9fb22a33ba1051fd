-- Invite codes for `--registration invite`. Only a hash of each code is
-- kept: the database alone does not let anyone register.
CREATE TABLE invites (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the code, hex. The codes are random, so a plain hash is enough.
    code_hash  TEXT    NOT NULL UNIQUE,
    uses_left  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    -- Microseconds since the epoch, like every timestamp here; NULL: never expires.
    expires_at INTEGER
);
