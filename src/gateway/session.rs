//! One WebSocket connection: a reader (this task) and a writer (its own task).
//!
//! The reader decodes frames and calls the chat core; it never writes to the
//! socket. Everything bound for the client goes through the connection's
//! bounded `Outbox` to the writer, which writes as many frames as are waiting
//! and flushes once. So a slow socket only ever backs up its own queue.
//!
//! Resume (`subscribe` with `since`) is done by the writer: the reader queues
//! a `Replay` marker and only then joins the room, so every message is either
//! already stored when the writer reads the store, or queued live behind the
//! marker. The writer drops live messages it already replayed (id <= floor):
//! no gap, no duplicate.

use super::close::{GOING_AWAY, POLICY_VIOLATION, TOO_BIG, UNSUPPORTED_DATA};
use super::{Protocol, compat, v1};
use crate::app::AppState;
use crate::chat::event::{ConnId, Event, EventKind};
use crate::chat::hub::{Member, Snapshot};
use crate::chat::model::{Room, User};
use crate::chat::outbox::{Closer, Inbox, Outbound, Outbox, Replay};
use crate::store::{Page, Store};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Room for a v1 envelope around the largest allowed content: the transport
/// limit is the content limit plus this.
pub const ENVELOPE_BYTES: usize = 4 * 1024;
/// Stored messages read per query while replaying.
const REPLAY_PAGE: i64 = 1000;
/// After the writer closed, how long the reader waits for the peer's close.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A reply still waiting for its message to be stored; yields the frame to
/// send (an ack, an error) or nothing.
pub type PendingReply = BoxFuture<'static, Option<Message>>;

/// The reader's view of the connection, shared by both protocols.
pub struct Session {
    pub state: AppState,
    pub user: User,
    pub conn: ConnId,
    pub outbox: Outbox,
    pub closer: Arc<Closer>,
    /// Rooms this connection is in.
    pub rooms: HashMap<String, Room>,
    /// Replies in the order their commands arrived.
    pub pending: FuturesOrdered<PendingReply>,
    /// Protocol-specific reader state (rate limit, strikes).
    pub v1: v1::ReaderState,
}

impl Session {
    /// Joins `room`; `greeting` is queued to this connection before any of
    /// the room's events.
    pub async fn join(&mut self, room: Room, greeting: impl FnOnce(Snapshot<'_>) -> Vec<Outbound>) {
        let member = Member {
            user_id: self.user.id,
            username: self.user.username.clone(),
            outbox: self.outbox.clone(),
        };
        let chat = &self.state.chat;
        let change = chat.hub.join(&room.name, self.conn, member, greeting);
        self.rooms.insert(room.name.clone(), room);
        chat.membership_changed(change).await;
    }

    pub async fn leave(&mut self, room: &str) -> bool {
        if self.rooms.remove(room).is_none() {
            return false;
        }
        let chat = &self.state.chat;
        chat.membership_changed(chat.hub.leave(room, self.conn))
            .await;
        true
    }

    pub fn send(&self, frame: Message) {
        self.outbox.push(Outbound::Frame(Box::new(frame)));
    }
}

/// When the peer was last heard from, for the ping timeout.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Serves one upgraded connection until it closes. The setup is done here,
/// outside the future: an `async fn` keeps its arguments (the whole socket)
/// in its state for as long as it runs, and every idle connection would pay
/// for that.
pub fn run(
    state: AppState,
    socket: WebSocket,
    user: User,
    protocol: Protocol,
    room: Option<Result<Room, String>>,
) -> impl Future<Output = ()> + Send + 'static {
    let conn = state.next_conn_id();
    let (outbox, inbox, closer) = Outbox::new(state.config.outbound_queue);
    let (sink, stream) = socket.split();
    let done = CancellationToken::new();
    let activity = Arc::new(Activity::new());
    let writer = Writer {
        protocol,
        user_id: user.id,
        store: state.store.clone(),
        closer: closer.clone(),
        shutdown: state.shutdown.clone(),
        done: done.clone(),
        ping_interval: state.config.ping_interval,
        activity: activity.clone(),
        floors: HashMap::new(),
    };
    let writer = tokio::spawn(writer.run(sink, inbox));
    tracing::debug!(conn, user = %user.username, ?protocol, "connected");
    let session = Session {
        state,
        user,
        conn,
        outbox,
        closer,
        rooms: HashMap::new(),
        pending: FuturesOrdered::new(),
        v1: v1::ReaderState::default(),
    };
    let connection = Connection {
        stream,
        protocol,
        done,
        activity,
        writer,
    };
    serve(session, connection, room)
}

/// What the reader needs besides the session.
struct Connection {
    stream: SplitStream<WebSocket>,
    protocol: Protocol,
    done: CancellationToken,
    activity: Arc<Activity>,
    writer: JoinHandle<()>,
}

async fn serve(mut session: Session, connection: Connection, room: Option<Result<Room, String>>) {
    let Connection {
        stream,
        protocol,
        done,
        activity,
        writer,
    } = connection;
    match (room, protocol) {
        (Some(Ok(room)), Protocol::Compat) => Box::pin(compat::open(&mut session, room)).await,
        (Some(Ok(room)), Protocol::V1) => Box::pin(v1::open(&mut session, room)).await,
        (Some(Err(_)), _) => session.closer.close(POLICY_VIOLATION, "Invalid chat room"),
        (None, Protocol::Compat) => session.closer.close(
            POLICY_VIOLATION,
            "a room is required: use /ws/{room}, or offer the palaver.v1 subprotocol",
        ),
        (None, Protocol::V1) => {}
    }
    read_loop(&mut session, stream, protocol, &done, &activity).await;

    let rooms: Vec<String> = session.rooms.keys().cloned().collect();
    for room in rooms {
        Box::pin(session.leave(&room)).await;
    }
    done.cancel();
    let conn = session.conn;
    drop(session);
    if let Err(err) = writer.await {
        tracing::error!(conn, error = %err, "writer task failed");
    }
    tracing::debug!(conn, "disconnected");
}

async fn read_loop(
    session: &mut Session,
    mut stream: SplitStream<WebSocket>,
    protocol: Protocol,
    done: &CancellationToken,
    activity: &Activity,
) {
    loop {
        tokio::select! {
            _ = done.cancelled() => {
                // The writer sent a close frame; give the peer a moment to answer it.
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    while let Some(Ok(frame)) = stream.next().await {
                        if matches!(frame, Message::Close(_)) { break; }
                    }
                }).await;
                return;
            }
            Some(reply) = session.pending.next() => {
                if let Some(frame) = reply {
                    session.send(frame);
                }
            }
            frame = stream.next() => {
                activity.touch();
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
                    Some(Ok(Message::Close(_))) | None => return,
                    Some(Ok(_)) => {} // ping, pong: the activity stamp is all they are for
                    Some(Err(err)) => {
                        if is_too_big(err) {
                            session.closer.close(TOO_BIG, "message too big");
                        } else {
                            return;
                        }
                    }
                }
            }
        }
    }
}

fn is_too_big(err: axum::Error) -> bool {
    use tungstenite::Error;
    err.into_inner()
        .downcast_ref::<Error>()
        .is_some_and(|e| matches!(e, Error::Capacity(_)))
}

type Sink = SplitSink<WebSocket, Message>;

struct Writer {
    protocol: Protocol,
    user_id: i64,
    store: Arc<dyn Store>,
    closer: Arc<Closer>,
    shutdown: CancellationToken,
    /// Cancelled when either half is finished with the connection.
    done: CancellationToken,
    ping_interval: Duration,
    activity: Arc<Activity>,
    /// Per room, the highest message id already replayed: live copies of
    /// those are dropped.
    floors: HashMap<String, i64>,
}

/// Why the writer stopped: with a close frame to send, or without (the
/// connection is gone or silent).
type Stop = Option<(u16, &'static str)>;

impl Writer {
    async fn run(mut self, mut sink: Sink, mut inbox: Inbox) {
        if let Some((code, reason)) = self.pump(&mut sink, &mut inbox).await {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            // The peer may not be reading at all: do not wait on it for long.
            let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
        }
        self.done.cancel();
    }

    async fn pump(&mut self, sink: &mut Sink, inbox: &mut Inbox) -> Stop {
        let period = self.ping_interval;
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                (code, reason) = self.closer.closed() => return Some((code, reason)),
                _ = self.shutdown.cancelled() => return Some((GOING_AWAY, "server shutting down")),
                _ = self.done.cancelled() => return None,
                batch = inbox.take() => {
                    if batch.is_empty() {
                        return None;
                    }
                    // A peer that stopped reading blocks these writes; a close
                    // request (slow consumer, shutdown) must still get through.
                    let (closer, shutdown) = (self.closer.clone(), self.shutdown.clone());
                    // Boxed: only a busy connection needs this state; an idle
                    // writer's future stays small.
                    let written = Box::pin(async {
                        for item in batch {
                            // Counted as queued until written: frames in the
                            // writer's hand while the socket is stuck still
                            // count against the bound.
                            let weight = item.weight();
                            self.write(sink, item).await?;
                            inbox.written(weight);
                        }
                        sink.flush().await
                    });
                    tokio::select! {
                        result = written => if result.is_err() { return None },
                        (code, reason) = closer.closed() => return Some((code, reason)),
                        _ = shutdown.cancelled() => return Some((GOING_AWAY, "server shutting down")),
                    }
                }
                _ = ping.tick() => {
                    if self.activity.idle() > 2 * period {
                        tracing::debug!("peer silent for two ping intervals; dropping it");
                        return None;
                    }
                    if sink.send(Message::Ping(Default::default())).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    async fn write(&mut self, sink: &mut Sink, item: Outbound) -> Result<(), axum::Error> {
        match item {
            Outbound::Frame(frame) => sink.feed(*frame).await,
            Outbound::Event(event) => self.write_event(sink, &event).await,
            Outbound::Events { events, from } => {
                for event in events.iter().skip(from as usize) {
                    self.write_event(sink, event).await?;
                }
                Ok(())
            }
            Outbound::Replay(replay) => {
                let Replay {
                    room,
                    room_id,
                    since,
                } = *replay;
                // Boxed: rare, and large enough to double every writer's size.
                Box::pin(self.replay(sink, room, room_id, since)).await
            }
        }
    }

    /// Writes a shared event in this connection's format, if it shows here.
    async fn write_event(&mut self, sink: &mut Sink, event: &Event) -> Result<(), axum::Error> {
        if let EventKind::Message(m) = &event.kind {
            if self.floors.get(&m.room).is_some_and(|floor| m.id <= *floor) {
                return Ok(());
            }
        }
        let frame = match self.protocol {
            Protocol::Compat if compat::shows(&event.kind, self.user_id) => {
                event.frame(Protocol::Compat as usize, compat::encode)
            }
            Protocol::V1 if v1::shows(event, self.user_id) => {
                event.frame(Protocol::V1 as usize, v1::encode)
            }
            _ => None,
        };
        match frame {
            Some(text) => sink.feed(Message::Text(text)).await,
            None => Ok(()),
        }
    }

    /// Sends the room's stored messages after `since`, oldest first.
    async fn replay(
        &mut self,
        sink: &mut Sink,
        room: String,
        room_id: i64,
        since: i64,
    ) -> Result<(), axum::Error> {
        let mut after = since;
        loop {
            let page = Page::After {
                id: after,
                limit: REPLAY_PAGE,
            };
            let messages = match self.store.messages(room_id, page).await {
                Ok(messages) => messages,
                Err(err) => {
                    tracing::error!(error = %err, room, "replay failed");
                    sink.feed(v1::error_frame(
                        None,
                        v1::ErrorCode::StoreFailed,
                        "could not read history; subscribe again",
                    ))
                    .await?;
                    break;
                }
            };
            for message in &messages {
                sink.feed(Message::Text(v1::message_frame(message))).await?;
                after = message.id;
            }
            sink.flush().await?;
            if (messages.len() as i64) < REPLAY_PAGE {
                break;
            }
        }
        let floor = self.floors.entry(room).or_insert(after);
        *floor = (*floor).max(after);
        Ok(())
    }
}
