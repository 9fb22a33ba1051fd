//! One WebSocket connection: a reader (this task) and a writer (its own
//! task, `writer`).
//!
//! The reader decodes frames and calls the chat core; it never writes to the
//! socket. Everything bound for the client goes through the connection's
//! bounded `Outbox` to the writer, which writes as many frames as are waiting
//! and flushes once. So a slow socket only ever backs up its own queue.

use super::close::{
    Closer, INVALID_DATA, POLICY_VIOLATION, PROTOCOL_ERROR, TOO_BIG, UNSUPPORTED_DATA,
};
use super::writer::{Activity, Writer};
use super::{Protocol, compat, v1};
use crate::app::AppState;
use crate::auth::accounts::Caller;
use crate::chat::outbox::{Outbound, Outbox};
use crate::chat::rooms::{Actor, RoomError};
use crate::chat::sockets::{SessionEnd, Watch};
use crate::model::{ConnId, Room, User};
use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, SplitStream};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// After the writer closed, how long the reader waits for the peer's close.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A reply still waiting for its message to be stored; yields the frame to
/// send (an ack, an error) or nothing.
pub type PendingReply = BoxFuture<'static, Option<String>>;

/// The reader's view of the connection, shared by both protocols.
pub struct Session {
    pub state: AppState,
    pub user: User,
    /// The login session whose token opened (or last renewed) the connection.
    pub login: i64,
    /// Whether the user was a server admin when the connection opened (an
    /// admin who is demoted is signed out everywhere, so it cannot go stale).
    pub admin: bool,
    pub conn: ConnId,
    pub outbox: Outbox,
    pub closer: Arc<Closer>,
    /// Rooms this connection is in, by name, with their ids: all a send
    /// needs (not the whole room, which every connection would pay for).
    pub rooms: HashMap<String, i64>,
    /// Replies in the order their commands arrived.
    pub pending: FuturesOrdered<PendingReply>,
    /// What the client did wrong lately, for closing one that keeps at it.
    pub tally: Tally,
    /// When the peer was heard from, and until when its token is good.
    pub activity: Arc<Activity>,
}

impl Session {
    /// Joins room `name` if the user may read it; `greeting`, given who is
    /// online, is queued to this connection before any of the room's events.
    pub async fn enter(
        &mut self,
        name: &str,
        greeting: impl Fn(&Room, Vec<String>) -> Vec<Outbound>,
    ) -> Result<(), RoomError> {
        let actor = Actor {
            user: &self.user,
            admin: self.admin,
        };
        let room = self
            .state
            .chat
            .enter(actor, name, self.conn, &self.outbox, greeting)
            .await?;
        self.rooms.insert(room.name, room.id);
        Ok(())
    }

    /// Whether the connection is in `room`: it may have been removed by a
    /// moderator since it joined, which the reader learns only here.
    pub fn is_in(&mut self, room: &str) -> bool {
        if !self.rooms.contains_key(room) {
            return false;
        }
        if self.state.chat.holds(room, self.conn) {
            return true;
        }
        self.rooms.remove(room);
        false
    }

    pub async fn leave(&mut self, room: &str) -> bool {
        if !self.is_in(room) {
            return false;
        }
        self.rooms.remove(room);
        self.state.chat.leave(room, self.conn).await;
        true
    }

    /// Queues a frame for this connection alone.
    pub fn send(&self, frame: String) {
        self.outbox.push(Outbound::Frame(frame.into()));
    }
}

/// Bad frames in a row (v1), and sends in a row dropped for the rate limit
/// (compat): past a few, the connection is closed (1008).
#[derive(Default)]
pub struct Tally {
    // Small: they count to 10 and 20, and leave room in the word they share
    // with `Session::admin`.
    pub strikes: u16,
    pub overruns: u16,
}

/// Serves one upgraded connection until it closes. The setup is done here,
/// outside the future: an `async fn` keeps its arguments (the whole socket)
/// in its state for as long as it runs, and every idle connection would pay
/// for that.
pub fn run(
    state: AppState,
    socket: WebSocket,
    caller: Caller,
    protocol: Protocol,
    room: Option<String>,
) -> impl Future<Output = ()> + Send + 'static {
    let Caller {
        user,
        session: login,
        expires_at,
        admin,
    } = caller;
    let conn = state.next_conn_id();
    let limits = &state.config;
    let (outbox, receiver) = Outbox::new(limits.outbound_queue, limits.outbound_queue_bytes);
    let (sink, stream) = socket.split();
    let done = CancellationToken::new();
    let activity = Arc::new(Activity::new());
    // The chapter's client cannot renew a token: its socket lives until
    // the session ends.
    if protocol == Protocol::V1 {
        activity.expire_at(expires_at, super::writer::unix_ms());
    }
    let closer = Arc::new(Closer::default());
    let end: Weak<dyn SessionEnd> = Arc::downgrade(&closer) as Weak<dyn SessionEnd>;
    // Until `serve` ends: the connection closes when its session ends, and
    // (v1) hears of rooms its user is added to.
    state.chat.watch_socket(Watch {
        user: user.id,
        session: login,
        end,
        notices: (protocol == Protocol::V1).then(|| outbox.clone()),
    });
    let writer = Writer {
        protocol,
        user_id: user.id,
        chat: state.chat.clone(),
        closer: closer.clone(),
        shutdown: state.shutdown.clone(),
        done: done.clone(),
        ping_interval: state.config.ping_interval,
        activity: activity.clone(),
        floors: HashMap::new(),
        summaries: false,
        rates: state.rates.clone(),
    };
    let writer = tokio::spawn(writer.run(sink, receiver));
    tracing::debug!(conn, user = %user.username, ?protocol, "connected");
    let session = Session {
        state,
        user,
        login,
        admin,
        conn,
        outbox,
        closer,
        rooms: HashMap::new(),
        pending: FuturesOrdered::new(),
        tally: Tally::default(),
        activity,
    };
    let connection = Connection {
        stream,
        protocol,
        done,
        writer,
    };
    serve(session, connection, room)
}

/// What the reader needs besides the session.
struct Connection {
    stream: SplitStream<WebSocket>,
    protocol: Protocol,
    done: CancellationToken,
    writer: JoinHandle<()>,
}

async fn serve(mut session: Session, connection: Connection, room: Option<String>) {
    let Connection {
        stream,
        protocol,
        done,
        writer,
    } = connection;
    match (room, protocol) {
        (Some(room), Protocol::Compat) => Box::pin(compat::open(&mut session, &room)).await,
        (Some(room), Protocol::V1) => Box::pin(v1::open(&mut session, &room)).await,
        (None, Protocol::Compat) => session.closer.close(
            POLICY_VIOLATION,
            "a room is required: use /ws/{room}, or offer the palaver.v1 subprotocol",
        ),
        (None, Protocol::V1) => {}
    }
    let mut stream = stream;
    let closing = read_loop(&mut session, &mut stream, protocol, &done).await;

    let rooms: Vec<String> = session.rooms.keys().cloned().collect();
    for room in rooms {
        Box::pin(session.leave(&room)).await;
    }
    done.cancel();
    if closing {
        // The writer is sending a close frame; give the peer a moment to
        // answer it. The rooms were left first: a peer closed as too slow
        // may take a while to read up to the close frame, and the room
        // should not wait for that to hear it is gone. (Boxed: once per
        // connection, and not to be paid for by every idle one.)
        let answer = async {
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = Box::pin(tokio::time::timeout(CLOSE_GRACE, answer)).await;
    }
    drop(stream);
    let conn = session.conn;
    let end: Weak<dyn SessionEnd> = Arc::downgrade(&session.closer) as Weak<dyn SessionEnd>;
    session.state.chat.unwatch_socket(session.user.id, &end);
    drop(session);
    if let Err(err) = writer.await {
        tracing::error!(conn, error = %err, "writer task failed");
    }
    tracing::debug!(conn, "disconnected");
}

/// Reads until the peer is gone (false) or the writer is done, as it is
/// when it closes the connection (true).
async fn read_loop(
    session: &mut Session,
    stream: &mut SplitStream<WebSocket>,
    protocol: Protocol,
    done: &CancellationToken,
) -> bool {
    loop {
        tokio::select! {
            _ = done.cancelled() => return true,
            Some(reply) = session.pending.next() => {
                if let Some(frame) = reply {
                    session.send(frame);
                }
            }
            frame = stream.next() => {
                session.activity.touch();
                match frame {
                    // Boxed: a connection spends its life waiting here, and
                    // an inline handler would make every idle connection's
                    // future as big as the biggest command's.
                    Some(Ok(Message::Text(text))) => match protocol {
                        Protocol::Compat => Box::pin(compat::on_text(session, text)).await,
                        Protocol::V1 => Box::pin(v1::on_text(session, text)).await,
                    },
                    Some(Ok(Message::Binary(_))) => {
                        session.closer.close(UNSUPPORTED_DATA, "binary frames are not supported");
                    }
                    Some(Ok(Message::Close(_))) | None => return false,
                    Some(Ok(_)) => {} // ping, pong: the activity stamp is all they are for
                    Some(Err(err)) => match refusal(err) {
                        Some((code, reason)) => session.closer.close(code, reason),
                        None => return false,
                    },
                }
            }
        }
    }
}

/// The close a read error deserves, when it is the peer's fault and the
/// peer can still be told: a frame over the limit, text that is not UTF-8,
/// a frame against the protocol (the connection is still whole: the frame
/// was read to its end). Anything else (a reset, an I/O error) ends the
/// connection.
fn refusal(err: axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::Error;
    use tungstenite::error::ProtocolError;
    match err.into_inner().downcast_ref::<Error>()? {
        Error::Capacity(_) => Some((TOO_BIG, "message too big")),
        Error::Utf8(_) => Some((INVALID_DATA, "text frames must be UTF-8")),
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        Error::Protocol(_) => Some((PROTOCOL_ERROR, "frame breaks the WebSocket protocol")),
        _ => None,
    }
}
