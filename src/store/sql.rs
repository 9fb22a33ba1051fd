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
    fn write(self, sql: &str) -> String {
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

/// The fields every message query selects. A macro so that `concat!` can
/// build whole statements from it at compile time.
macro_rules! message_fields {
    () => {
        "m.id, m.seq, m.room_id, r.name AS room, u.id AS author_id, \
         u.username, m.content, m.created_at, m.client_id"
    };
}

/// The message fields and the joins that give them.
macro_rules! messages_from {
    () => {
        concat!(
            message_fields!(),
            " FROM messages m JOIN users u ON u.id = m.author_id JOIN rooms r ON r.id = m.room_id"
        )
    };
}

macro_rules! room_columns {
    () => {
        "id, name, topic, created_at, last_seq"
    };
}

const CREATE_USER: &str = "INSERT INTO users (username, username_key, password_hash, created_at) \
     VALUES (?, ?, ?, ?) RETURNING id";
const CREDENTIALS: &str = "SELECT id, username, password_hash FROM users WHERE username_key = ?";
const USER: &str = "SELECT id, username FROM users WHERE id = ?";
const ROOMS: &str = concat!("SELECT ", room_columns!(), " FROM rooms ORDER BY id");
const ROOM: &str = concat!("SELECT ", room_columns!(), " FROM rooms WHERE name = ?");
const CREATE_ROOM: &str =
    "INSERT INTO rooms (name, topic, created_at) VALUES (?, ?, ?) RETURNING id";
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
const SESSION_USER: &str = "SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = ? AND s.user_id = ? AND s.ended_at IS NULL";
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

// Each page binds (room id, a, b) in this order; see `Statements::page`.
const NEWEST_FIRST: &str = concat!(
    "SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? ORDER BY m.id DESC LIMIT ? OFFSET ?"
);
const BEFORE: &str = concat!(
    "SELECT * FROM (SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?) AS page ORDER BY id ASC"
);
const AFTER: &str = concat!(
    "SELECT ",
    messages_from!(),
    " WHERE m.room_id = ? AND m.id > ? ORDER BY m.id ASC LIMIT ?"
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
             JOIN messages m ON m.author_id = wanted.author_id AND m.client_id = wanted.client_id \
             JOIN users u ON u.id = m.author_id JOIN rooms r ON r.id = m.room_id"
        ),
        super::batch::tuples(n, 2, 1, mark)
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
            "INSERT INTO rooms (name, topic, created_at) VALUES ($1, $2, $3) RETURNING id"
        );
        let (page, _) = sql.page(Page::NewestFirst { skip: 0, limit: 1 }, 1);
        assert!(page.ends_with("WHERE m.room_id = $1 ORDER BY m.id DESC LIMIT $2 OFFSET $3"));
        assert!(!page.contains('?'));
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
