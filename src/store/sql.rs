//! The SQL text both backends run, written once. Statements are written with
//! anonymous `?` placeholders, which SQLite takes as they are; for PostgreSQL
//! they are numbered `$1, $2, …` once, when the store opens, not per call.
//! The statements use no string literals, so every `?` is a placeholder.

use super::Page;

/// How a backend writes its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `?`, bound in order. Not `?7`: sqlx asks SQLite for every parameter's
    /// name, and for numbered ones that lookup is a linear scan, quadratic
    /// over a 3,000-parameter INSERT.
    Sqlite,
    /// `$1`, `$2`, …
    Postgres,
}

impl Dialect {
    /// Writes the n-th placeholder (numbered from 1).
    pub fn mark(self) -> fn(usize) -> String {
        match self {
            Self::Sqlite => |_| "?".to_owned(),
            Self::Postgres => |n| format!("${n}"),
        }
    }

    /// `sql`, written with `?` placeholders, in this dialect.
    pub fn write(self, sql: &str) -> String {
        match self {
            Self::Sqlite => sql.to_owned(),
            Self::Postgres => {
                let mut out = String::with_capacity(sql.len() + 8);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        out.push_str(&format!("${n}"));
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

/// The fields every stream query selects: the entry, and what reading it
/// back shows of the message it is about (a change's target as it is now,
/// the message a reply answers, a reaction's count now). A macro so that
/// `concat!` can build whole statements from it at compile time.
macro_rules! message_fields {
    () => {
        "m.id, m.seq, m.room_id, r.name AS room, u.id AS author_id, \
         u.username, m.content, m.created_at, m.client_id, \
         m.kind, m.target_id, m.edited_at, m.deleted_at, m.deleted_by, db.username AS deleted_by_name, \
         t.content AS target_content, t.deleted_at AS target_deleted_at, \
         p.id AS reply_id, pu.username AS reply_author, p.content AS reply_content, \
         p.deleted_at AS reply_deleted_at, \
         CASE WHEN m.kind >= 3 THEN (SELECT COUNT(*) FROM reactions x \
         WHERE x.message_id = m.target_id AND x.emoji = m.content) END AS reaction_count"
    };
}

/// The joins `message_fields` reads from, after `messages m`.
macro_rules! message_joins {
    () => {
        " JOIN users u ON u.id = m.author_id JOIN rooms r ON r.id = m.room_id \
         LEFT JOIN users db ON db.id = m.deleted_by \
         LEFT JOIN messages t ON t.id = m.target_id \
         LEFT JOIN messages p ON p.id = m.reply_to LEFT JOIN users pu ON pu.id = p.author_id"
    };
}

/// The message fields and the joins that give them.
macro_rules! messages_from {
    () => {
        concat!(message_fields!(), " FROM messages m", message_joins!())
    };
}

/// A room's fields, from `rooms r`.
macro_rules! room_columns {
    () => {
        "r.id, r.name, r.topic, r.created_at, r.last_seq, r.visibility"
    };
}

/// An account's fields, from `users u`.
macro_rules! account_columns {
    () => {
        "u.id, u.username, u.role, u.disabled_at, u.created_at"
    };
}

const CREATE_USER: &str = "INSERT INTO users (username, username_key, password_hash, created_at) \
     VALUES (?, ?, ?, ?) RETURNING id";
const CREDENTIALS: &str =
    "SELECT id, username, password_hash, disabled_at FROM users WHERE username_key = ?";
const USER: &str = "SELECT id, username FROM users WHERE id = ?";
// Binds the visibility `public`: the statements hold no string literals.
const ROOMS: &str = concat!(
    "SELECT ",
    room_columns!(),
    " FROM rooms r WHERE r.visibility = ? AND r.archived_at IS NULL ORDER BY r.id"
);
const ROOM: &str = concat!(
    "SELECT ",
    room_columns!(),
    " FROM rooms r WHERE r.name = ? AND r.archived_at IS NULL"
);
const CREATE_ROOM: &str =
    "INSERT INTO rooms (name, topic, created_at, visibility) VALUES (?, ?, ?, ?) RETURNING id";
// Two creators of the same direct room: the second one's insert waits for
// the first one's commit on the unique name, then does nothing, and both
// read the same row after.
const INSERT_DIRECT_ROOM: &str = "INSERT INTO rooms (name, topic, created_at, visibility) \
     VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING";
// Archived rooms too: a name is never handed to a second room.
const ROOM_ANY: &str = concat!(
    "SELECT ",
    room_columns!(),
    ", r.archived_at FROM rooms r WHERE r.name = ?"
);
const SET_TOPIC: &str = "UPDATE rooms SET topic = ? WHERE id = ?";
const ARCHIVE_ROOM: &str = "UPDATE rooms SET archived_at = ? WHERE id = ? AND archived_at IS NULL";
const PURGE_REACTIONS: &str =
    "DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE room_id = ?)";
const PURGE_VERSIONS: &str =
    "DELETE FROM message_versions WHERE message_id IN (SELECT id FROM messages WHERE room_id = ?)";
const PURGE_MESSAGES: &str = "DELETE FROM messages WHERE room_id = ?";
const PURGE_MEMBERSHIPS: &str = "DELETE FROM memberships WHERE room_id = ?";
const PURGE_BANS: &str = "DELETE FROM bans WHERE room_id = ?";
const PURGE_MUTES: &str = "DELETE FROM mutes WHERE room_id = ?";
const PURGE_ROOM: &str = "DELETE FROM rooms WHERE id = ?";

// One read for everything the access rules need. Binds, in order: the user
// (membership), the user and now (ban), the user and now (mute), the name.
const ACCESS: &str = concat!(
    "SELECT ",
    room_columns!(),
    ", m.role AS member_role, b.created_at AS banned_at, \
     mu.created_at AS muted_at, mu.until AS muted_until \
     FROM rooms r \
     LEFT JOIN memberships m ON m.room_id = r.id AND m.user_id = ? \
     LEFT JOIN bans b ON b.room_id = r.id AND b.user_id = ? AND (b.until IS NULL OR b.until > ?) \
     LEFT JOIN mutes mu ON mu.room_id = r.id AND mu.user_id = ? \
     AND (mu.until IS NULL OR mu.until > ?) \
     WHERE r.name = ? AND r.archived_at IS NULL"
);
const ADD_MEMBER: &str = "INSERT INTO memberships (room_id, user_id, role, since) \
     VALUES (?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO NOTHING RETURNING user_id";
const MEMBER_ROLE: &str = "SELECT role FROM memberships WHERE room_id = ? AND user_id = ?";
// Binds the role `owner`.
const OTHER_OWNERS: &str =
    "SELECT COUNT(*) FROM memberships WHERE room_id = ? AND role = ? AND user_id <> ?";
const REMOVE_MEMBER: &str = "DELETE FROM memberships WHERE room_id = ? AND user_id = ?";
const SET_ROLE: &str = "UPDATE memberships SET role = ? WHERE room_id = ? AND user_id = ?";
const MEMBERS: &str = "SELECT u.id, u.username, m.role, m.since FROM memberships m \
     JOIN users u ON u.id = m.user_id WHERE m.room_id = ?";
const MY_ROOMS: &str = concat!(
    "SELECT ",
    room_columns!(),
    ", m.role AS member_role, m.since FROM memberships m JOIN rooms r ON r.id = m.room_id \
     WHERE m.user_id = ? AND r.archived_at IS NULL ORDER BY r.name"
);
// The other members of the user's direct rooms. Binds the user, the
// visibility `direct`, the user.
const MY_DIRECT_OTHERS: &str = "SELECT o.room_id, u.username FROM memberships mine \
     JOIN rooms r ON r.id = mine.room_id \
     JOIN memberships o ON o.room_id = mine.room_id \
     JOIN users u ON u.id = o.user_id \
     WHERE mine.user_id = ? AND r.visibility = ? AND r.archived_at IS NULL AND o.user_id <> ?";

const BAN: &str = "INSERT INTO bans (room_id, user_id, reason, until, by_user, created_at) \
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE \
     SET reason = excluded.reason, until = excluded.until, by_user = excluded.by_user, \
     created_at = excluded.created_at";
const UNBAN: &str = "DELETE FROM bans WHERE room_id = ? AND user_id = ? RETURNING user_id";
const BANS: &str = "SELECT u.id, u.username, b.reason, b.until, bu.username AS by_name, b.created_at \
     FROM bans b JOIN users u ON u.id = b.user_id LEFT JOIN users bu ON bu.id = b.by_user \
     WHERE b.room_id = ? AND (b.until IS NULL OR b.until > ?) ORDER BY b.created_at, u.id";
const MUTE: &str = "INSERT INTO mutes (room_id, user_id, until, by_user, created_at) \
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE \
     SET until = excluded.until, by_user = excluded.by_user, created_at = excluded.created_at";
const UNMUTE: &str = "DELETE FROM mutes WHERE room_id = ? AND user_id = ? RETURNING user_id";
const MUTES: &str = "SELECT u.id, u.username, mu.until, bu.username AS by_name, mu.created_at \
     FROM mutes mu JOIN users u ON u.id = mu.user_id LEFT JOIN users bu ON bu.id = mu.by_user \
     WHERE mu.room_id = ? AND (mu.until IS NULL OR mu.until > ?) ORDER BY mu.created_at, u.id";

const ACCOUNT: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM users u WHERE u.username_key = ?"
);
const ACCOUNTS: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM users u WHERE u.id > ? ORDER BY u.id LIMIT ?"
);
const SET_ADMIN: &str = "UPDATE users SET role = ? WHERE id = ?";
const SET_DISABLED: &str = "UPDATE users SET disabled_at = ? WHERE id = ?";
const CREATE_INVITE: &str = "INSERT INTO invites (code_hash, uses_left, created_at, expires_at) \
     VALUES (?, ?, ?, ?) RETURNING id";
// One statement checks and takes a use, so two registrations racing for the
// last use cannot both get it.
const REDEEM_INVITE: &str = "UPDATE invites SET uses_left = uses_left - 1 \
     WHERE code_hash = ? AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?) RETURNING id";
const RETURN_INVITE: &str = "UPDATE invites SET uses_left = uses_left + 1 WHERE id = ?";
const INVITES: &str = "SELECT id, uses_left, created_at, expires_at FROM invites ORDER BY id";
const SET_PASSWORD: &str = "UPDATE users SET password_hash = ? WHERE id = ?";

const CREATE_SESSION: &str = "INSERT INTO sessions \
     (user_id, created_at, last_used_at, user_agent, address, refresh_hash, refresh_expires_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
const SESSION_USER: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = ? AND s.user_id = ? AND s.ended_at IS NULL"
);
// Spending a refresh token comes first, as one insert that only a live
// session's current token passes: of two requests racing with one token,
// exactly one gets it and the other hits the primary key, which is how a
// copied token is told from its owner.
const SPEND_REFRESH: &str = "INSERT INTO spent_refresh_tokens (hash, session_id) \
     SELECT refresh_hash, id FROM sessions \
     WHERE refresh_hash = ? AND ended_at IS NULL AND refresh_expires_at > ? RETURNING session_id";
const ROTATE_REFRESH: &str = "UPDATE sessions \
     SET refresh_hash = ?, refresh_expires_at = ?, last_used_at = ? WHERE id = ? RETURNING user_id";
const SPENT_REFRESH: &str = "SELECT t.session_id, s.user_id FROM spent_refresh_tokens t \
     JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?";
const SESSIONS: &str = "SELECT id, created_at, last_used_at, user_agent, address FROM sessions \
     WHERE user_id = ? AND ended_at IS NULL AND refresh_expires_at > ? ORDER BY id DESC";
const END_SESSION: &str = "UPDATE sessions SET ended_at = ? WHERE id = ? AND user_id = ? AND ended_at IS NULL RETURNING id";
// `id <> 0` spares nothing: ids start at 1.
const END_SESSIONS: &str = "UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL AND id <> ? RETURNING id";

const LOCK_ROOM: &str = "SELECT id FROM rooms WHERE id = ?";
const LOCK_ROOM_FOR_UPDATE: &str = "SELECT id FROM rooms WHERE id = ? FOR UPDATE";

// Each page binds (room id, a, b) in this order; see `Statements::page`.
// The chapter's history and history pages hold messages only (`kind = 0`);
// replays and gap filling read every entry of the stream.
const NEWEST_FIRST: &str = concat!(
    "SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.kind = 0 AND m.deleted_at IS NULL ORDER BY m.id DESC LIMIT ? OFFSET ?"
);
const BEFORE: &str = concat!(
    "SELECT * FROM (SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.kind = 0 AND m.id < ? ORDER BY m.id DESC LIMIT ?) AS page ORDER BY id ASC"
);
const AFTER: &str = concat!(
    "SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.kind = 0 AND m.id > ? ORDER BY m.id ASC LIMIT ?"
);
// The rows' sizes are read in a subquery of their own, where
// `octet_length` needs no content read (SQLite knows a value's size from the
// record header, PostgreSQL from the TOAST pointer), and only the ids up to
// the byte budget are then read in full.
const AFTER_WITHIN: &str = concat!(
    "SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.id > ? AND m.id <= (SELECT MAX(id) FROM (",
    "SELECT id, SUM(len) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) - len AS ahead FROM (",
    "SELECT id, octet_length(content) AS len FROM messages WHERE room_id = ? AND id > ? ",
    "ORDER BY id ASC LIMIT ?) AS sizes) AS counted WHERE ahead < ?) ORDER BY m.id ASC"
);
const MESSAGE: &str = concat!(
    "SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.id = ? AND m.kind = 0"
);
const VERSIONS: &str =
    "SELECT content, created_at FROM message_versions WHERE message_id = ? ORDER BY created_at";
const SEQS: &str = concat!(
    "SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.seq >= ? AND m.seq <= ? ORDER BY m.seq ASC"
);

/// The one-statement queries, in one backend's dialect.
pub struct Statements {
    pub create_user: String,
    pub credentials: String,
    pub user: String,
    pub rooms: String,
    pub room: String,
    pub create_room: String,
    pub create_invite: String,
    pub redeem_invite: String,
    pub return_invite: String,
    pub invites: String,
    pub set_password: String,
    pub create_session: String,
    pub session_user: String,
    pub spend_refresh: String,
    pub rotate_refresh: String,
    pub spent_refresh: String,
    pub sessions: String,
    pub end_session: String,
    pub end_sessions: String,
    pub insert_direct_room: String,
    pub room_any: String,
    pub set_topic: String,
    pub archive_room: String,
    pub purge_reactions: String,
    pub purge_versions: String,
    pub purge_messages: String,
    pub message: String,
    pub versions: String,
    pub purge_memberships: String,
    pub purge_bans: String,
    pub purge_mutes: String,
    pub purge_room: String,
    pub access: String,
    pub add_member: String,
    pub member_role: String,
    pub other_owners: String,
    pub remove_member: String,
    pub set_role: String,
    pub members: String,
    pub my_rooms: String,
    pub my_direct_others: String,
    pub ban: String,
    pub unban: String,
    pub bans: String,
    pub mute: String,
    pub unmute: String,
    pub mutes: String,
    pub account: String,
    pub accounts: String,
    pub set_admin: String,
    pub set_disabled: String,
    /// Locks a room's row until the transaction ends, so that the
    /// last-owner checks of two transactions on the same room run one after
    /// the other. PostgreSQL: `FOR UPDATE`. SQLite has no row locks and needs
    /// none: its transactions here begin IMMEDIATE, holding the one write lock.
    pub lock_room: String,
    newest_first: String,
    before: String,
    after: String,
    after_within: String,
    seqs: String,
}

impl Statements {
    pub fn new(dialect: Dialect) -> Self {
        let write = |sql| dialect.write(sql);
        Self {
            create_user: write(CREATE_USER),
            credentials: write(CREDENTIALS),
            user: write(USER),
            rooms: write(ROOMS),
            room: write(ROOM),
            create_room: write(CREATE_ROOM),
            create_invite: write(CREATE_INVITE),
            redeem_invite: write(REDEEM_INVITE),
            return_invite: write(RETURN_INVITE),
            invites: write(INVITES),
            set_password: write(SET_PASSWORD),
            create_session: write(CREATE_SESSION),
            session_user: write(SESSION_USER),
            spend_refresh: write(SPEND_REFRESH),
            rotate_refresh: write(ROTATE_REFRESH),
            spent_refresh: write(SPENT_REFRESH),
            sessions: write(SESSIONS),
            end_session: write(END_SESSION),
            end_sessions: write(END_SESSIONS),
            insert_direct_room: write(INSERT_DIRECT_ROOM),
            room_any: write(ROOM_ANY),
            set_topic: write(SET_TOPIC),
            archive_room: write(ARCHIVE_ROOM),
            purge_reactions: write(PURGE_REACTIONS),
            purge_versions: write(PURGE_VERSIONS),
            purge_messages: write(PURGE_MESSAGES),
            message: write(MESSAGE),
            versions: write(VERSIONS),
            purge_memberships: write(PURGE_MEMBERSHIPS),
            purge_bans: write(PURGE_BANS),
            purge_mutes: write(PURGE_MUTES),
            purge_room: write(PURGE_ROOM),
            access: write(ACCESS),
            add_member: write(ADD_MEMBER),
            member_role: write(MEMBER_ROLE),
            other_owners: write(OTHER_OWNERS),
            remove_member: write(REMOVE_MEMBER),
            set_role: write(SET_ROLE),
            members: write(MEMBERS),
            my_rooms: write(MY_ROOMS),
            my_direct_others: write(MY_DIRECT_OTHERS),
            ban: write(BAN),
            unban: write(UNBAN),
            bans: write(BANS),
            mute: write(MUTE),
            unmute: write(UNMUTE),
            mutes: write(MUTES),
            account: write(ACCOUNT),
            accounts: write(ACCOUNTS),
            set_admin: write(SET_ADMIN),
            set_disabled: write(SET_DISABLED),
            lock_room: write(match dialect {
                Dialect::Sqlite => LOCK_ROOM,
                Dialect::Postgres => LOCK_ROOM_FOR_UPDATE,
            }),
            newest_first: write(NEWEST_FIRST),
            before: write(BEFORE),
            after: write(AFTER),
            after_within: write(AFTER_WITHIN),
            seqs: write(SEQS),
        }
    }

    /// The statement for a page of a room's history and its parameters,
    /// in the order they are bound.
    pub fn page(&self, page: Page, room_id: i64) -> (&str, Vec<i64>) {
        match page {
            Page::NewestFirst { skip, limit } => (&self.newest_first, vec![room_id, limit, skip]),
            Page::Before { id, limit } => {
                (&self.before, vec![room_id, id.unwrap_or(i64::MAX), limit])
            }
            Page::After { id, limit } => (&self.after, vec![room_id, id, limit]),
            Page::AfterWithin { id, limit, bytes } => (
                &self.after_within,
                vec![room_id, id, room_id, id, limit, bytes.max(1)],
            ),
            Page::Seqs { from, to } => (&self.seqs, vec![room_id, from, to]),
        }
    }
}

/// Messages already stored under any of `n` (author id, client id) pairs.
/// A join with the pairs, not `(a, b) IN (VALUES …)`: SQLite plans the
/// latter as a scan of the whole table, the join as `n` index lookups.
pub fn resends_query(n: usize, mark: fn(usize) -> String) -> String {
    format!(
        concat!(
            "WITH wanted(author_id, client_id) AS (VALUES {}) SELECT ",
            message_fields!(),
            " FROM wanted \
             JOIN messages m ON m.author_id = wanted.author_id AND m.client_id = wanted.client_id",
            message_joins!()
        ),
        super::batch::tuples(n, 2, 1, mark)
    )
}

/// The reactions to `n` messages, per message and emoji in the order first
/// used, with whether the viewer (bound first, then the ids) is among them.
pub fn reactions_query(n: usize, mark: fn(usize) -> String) -> String {
    format!(
        "SELECT message_id, emoji, COUNT(*) AS n, \
         SUM(CASE WHEN user_id = {} THEN 1 ELSE 0 END) AS mine, MIN(created_at) AS first \
         FROM reactions WHERE message_id IN ({}) GROUP BY message_id, emoji \
         ORDER BY message_id, first, emoji",
        mark(1),
        (2..=n + 1).map(mark).collect::<Vec<_>>().join(", ")
    )
}

/// Which of `n` session ids have ended.
pub fn ended_among_query(n: usize, mark: fn(usize) -> String) -> String {
    format!(
        "WITH asked(id) AS (VALUES {}) SELECT s.id FROM sessions s \
         JOIN asked ON s.id = asked.id WHERE s.ended_at IS NOT NULL",
        super::batch::tuples(n, 1, 1, mark)
    )
}

/// Of `n` (room id, user id) pairs, those where the user may not be in the
/// room: the room is gone or archived, or members-only without them as a
/// member, or they are banned. After the pairs, binds the visibility
/// `public` and now.
pub fn refused_among_query(n: usize, mark: fn(usize) -> String) -> String {
    let first = 2 * n + 1;
    format!(
        "WITH asked(room_id, user_id) AS (VALUES {}) SELECT a.room_id, a.user_id FROM asked a \
         LEFT JOIN rooms r ON r.id = a.room_id AND r.archived_at IS NULL \
         LEFT JOIN memberships m ON m.room_id = a.room_id AND m.user_id = a.user_id \
         WHERE r.id IS NULL OR (r.visibility <> {} AND m.user_id IS NULL) \
         OR EXISTS (SELECT 1 FROM bans b WHERE b.room_id = a.room_id AND b.user_id = a.user_id \
         AND (b.until IS NULL OR b.until > {}))",
        super::batch::tuples(n, 2, 1, mark),
        mark(first),
        mark(first + 1)
    )
}

/// Sets the `last_seq` of `n` rooms in one statement (valid in both dialects).
pub fn counters_update(n: usize, mark: fn(usize) -> String) -> String {
    format!(
        "WITH moved(id, seq) AS (VALUES {}) \
         UPDATE rooms SET last_seq = (SELECT seq FROM moved WHERE moved.id = rooms.id) \
         WHERE id IN (SELECT id FROM moved) RETURNING id",
        super::batch::tuples(n, 2, 1, mark)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        let sql = Statements::new(Dialect::Postgres);
        assert_eq!(
            sql.create_room,
            "INSERT INTO rooms (name, topic, created_at, visibility) VALUES ($1, $2, $3, $4) RETURNING id"
        );
        let (page, _) = sql.page(Page::NewestFirst { skip: 0, limit: 1 }, 1);
        assert!(page.ends_with(
            "WHERE m.room_id = $1 AND m.kind = 0 AND m.deleted_at IS NULL ORDER BY m.id DESC LIMIT $2 OFFSET $3"
        ));
        assert!(!page.contains('?'));
        assert!(sql.lock_room.ends_with("FOR UPDATE"));
        let refused = refused_among_query(2, Dialect::Postgres.mark());
        assert!(refused.contains("VALUES ($1, $2), ($3, $4)"));
        assert!(refused.contains("r.visibility <> $5") && refused.contains("b.until > $6"));
    }

    /// A `?` inside a string literal would be numbered as a placeholder.
    #[test]
    fn statements_hold_no_string_literals() {
        for sql in [
            ACCESS,
            BAN,
            BANS,
            MUTES,
            MY_ROOMS,
            MY_DIRECT_OTHERS,
            ROOMS,
            SESSION_USER,
        ] {
            assert!(!sql.contains('\''), "{sql}");
        }
    }

    #[test]
    fn sqlite_keeps_anonymous_placeholders() {
        let sql = Statements::new(Dialect::Sqlite);
        assert_eq!(sql.user, USER);
        assert_eq!(sql.user.matches('?').count(), 1);
    }

    #[test]
    fn pages_bind_in_the_order_their_placeholders_appear() {
        let sql = Statements::new(Dialect::Sqlite);
        let (_, params) = sql.page(Page::NewestFirst { skip: 5, limit: 10 }, 7);
        assert_eq!(params, [7, 10, 5]);
        let (_, params) = sql.page(Page::Before { id: None, limit: 3 }, 7);
        assert_eq!(params, [7, i64::MAX, 3]);
        let within = Page::AfterWithin {
            id: 4,
            limit: 100,
            bytes: 5000,
        };
        let (statement, params) = sql.page(within, 7);
        assert_eq!(statement.matches('?').count(), params.len());
        assert_eq!(params, [7, 4, 7, 4, 100, 5000]);
    }
}
