-- The same schema change as migrations/sqlite/0006_entries.sql, in PostgreSQL's dialect.
-- A room's stream holds changes beside messages: an edit, a deletion, a
-- reaction added or taken back is a row of `messages` too, with its own id
-- and seq, so that delivery, resume and the order across nodes treat it
-- exactly like a message. `kind`: 0 message, 1 edit, 2 delete, 3 reaction
-- added, 4 reaction taken back. A change names its message in `target_id`;
-- it keeps no text of its own (an edit is read back with the message's text
-- as it is now; a reaction keeps its emoji in `content`).
ALTER TABLE messages ADD COLUMN kind BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN target_id BIGINT;
-- Messages only: the message answered, the last edit, the deletion.
ALTER TABLE messages ADD COLUMN reply_to BIGINT;
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_by BIGINT;

-- History pages read messages through messages_room_id, stepping over the
-- changes between them: an index of messages alone would cost every send
-- one more index write, on the path every message takes.

-- A message's earlier texts (unless the server keeps no edit history), each
-- with the time it was written; the current text is the message's own.
CREATE TABLE message_versions (
    message_id BIGINT  NOT NULL REFERENCES messages(id),
    content    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX message_versions_message ON message_versions(message_id);

-- Who reacted to what, with which emoji: one per user per emoji per message.
CREATE TABLE reactions (
    message_id BIGINT  NOT NULL REFERENCES messages(id),
    emoji      TEXT    NOT NULL,
    user_id    BIGINT  NOT NULL REFERENCES users(id),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);
