-- A room's stream holds changes beside messages: an edit, a deletion, a
-- reaction added or taken back is a row of `messages` too, with its own id
-- and seq, so that delivery, resume and the order across nodes treat it
-- exactly like a message. `kind`: 0 message, 1 edit, 2 delete, 3 reaction
-- added, 4 reaction taken back. A change names its message in `target_id`;
-- it keeps no text of its own (an edit is read back with the message's text
-- as it is now; a reaction keeps its emoji in `content`).
ALTER TABLE messages ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN target_id INTEGER;
-- Messages only: the message answered, the last edit, the deletion.
ALTER TABLE messages ADD COLUMN reply_to INTEGER;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_by INTEGER;

-- History pages read messages through messages_room_id, stepping over the
-- changes between them: an index of messages alone would cost every send
-- one more index write, on the path every message takes.

-- A message's earlier texts (unless the server keeps no edit history), each
-- with the time it was written; the current text is the message's own.
CREATE TABLE message_versions (
    message_id INTEGER NOT NULL REFERENCES messages(id),
    content    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX message_versions_message ON message_versions(message_id);

-- Who reacted to what, with which emoji: one per user per emoji per message.
CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages(id),
    emoji      TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);
