//! A connection's writer: takes everything queued in its outbox, writes it in
//! the connection's wire format, flushes once; pings; closes with the code
//! the reader, the queue or shutdown asked for.
//!
//! Resume (`subscribe` with `since`) is done here: the reader queues a
//! `Replay` marker and only then joins the room, so every message is either
//! already stored when the writer reads the store, or queued live behind the
//! marker. The writer drops live messages it already replayed (id <= floor):
//! no gap, no duplicate. A replay reads pages bounded in bytes by the
//! queue's budget, and the page it holds counts against that budget until
//! written: however much history a client asks for and does not read, the
//! server holds no more for it than for live messages.
//!
//! The writer is generic over its `Sink`, so that it can be tested without
//! a socket.

use super::close::{Closer, GOING_AWAY, SESSION, SLOW_CONSUMER, TOKEN_EXPIRED};
use super::rates::UserRates;
use super::{Protocol, compat, v1};
use crate::chat::Chat;
use crate::chat::event::Event;
use crate::chat::event::stored_bytes;
use crate::chat::notice::Notice;
use crate::chat::outbox::{Outbound, OutboxReceiver, Replay, Taken, Weight};
use crate::model::{ConnId, RoomEvent};
use crate::store::Page;
use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Stored messages read per query while replaying, at most.
const REPLAY_PAGE: i64 = super::rates::REPLAY_PAGE as i64;
/// The share of the queue's byte budget one replay page may take: the rest
/// is for what arrives live meanwhile.
const REPLAY_SHARE: u64 = 4;
/// What a stored message costs at the least, for the most rows a page of a
/// small budget may hold.
const MESSAGE_AT_LEAST: u64 = 256;
/// Bytes of a batch written before their place in the queue's budget is
/// given back: small against the budget (1 MiB), large against a frame.
const RELEASE_CHUNK: u64 = 16 * 1024;
/// How long a close frame may take to go out to a peer that may not read.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// The same for a peer closed as too slow: its close frame waits behind
/// whatever its socket's buffers still hold. It costs little to wait: the
/// queue is freed and the rooms left first, so the socket's buffers are all
/// the connection still holds.
const SLOW_CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long before its access token expires a v1 connection is told to
/// renew it (or half the token's lifetime, if that is shorter).
const RENEW_NOTICE_MS: u64 = 60_000;

/// When the peer was last heard from, for the ping timeout; and until when
/// its access token is good, for the renewal notice and the expiry close.
/// Both are checked at the ping tick, so they are as exact as the ping
/// interval. Two words: every connection has one.
pub struct Activity {
    /// Milliseconds since `epoch()`.
    last_ms: AtomicU64,
    /// The token's expiry and when to send the notice, in seconds since
    /// `epoch()`: expiry in the high half, notice in the low (0 once sent).
    /// All 0: never expires (the chapter's protocol, whose client cannot
    /// renew: such a socket lives until its session ends).
    expiry: AtomicU64,
}

/// What the token's expiry asks of the writer at a tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Expiry {
    Valid,
    /// Tell the client to renew: the token expires in this many ms.
    RenewSoon(u64),
    Expired,
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The process's own clock origin: one for all connections, so that each
/// needs no `Instant` of its own.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Activity {
    pub fn new() -> Self {
        Self {
            last_ms: AtomicU64::new(since_epoch_ms()),
            expiry: AtomicU64::new(0),
        }
    }

    pub fn touch(&self) {
        self.last_ms.store(since_epoch_ms(), Ordering::Relaxed);
    }

    /// The connection's token (now) expires at `expires_at` (Unix seconds).
    pub fn expire_at(&self, expires_at: u64, now_ms: u64) {
        let left_ms = expires_at.saturating_mul(1000).saturating_sub(now_ms);
        // Kept on the process's clock, in seconds from its start.
        let base_ms = since_epoch_ms();
        // Rounded up, except for a token that has expired already: that one
        // is expired now, not at the next whole second.
        let expires = match left_ms {
            0 => base_ms / 1000,
            _ => (base_ms + left_ms).div_ceil(1000),
        };
        let notice = (base_ms + left_ms - RENEW_NOTICE_MS.min(left_ms / 2)) / 1000;
        let (expires, notice) = (
            u32::try_from(expires).unwrap_or(u32::MAX),
            u32::try_from(notice).unwrap_or(u32::MAX).max(1),
        );
        self.expiry.store(
            (u64::from(expires) << 32) | u64::from(notice),
            Ordering::Relaxed,
        );
    }

    /// Where the token stands now; says `RenewSoon` once per token.
    pub fn expiry(&self) -> Expiry {
        let packed = self.expiry.load(Ordering::Relaxed);
        if packed == 0 {
            return Expiry::Valid;
        }
        let (expires_ms, notice_ms) = ((packed >> 32) * 1000, (packed & 0xffff_ffff) * 1000);
        let now = since_epoch_ms();
        if now >= expires_ms {
            return Expiry::Expired;
        }
        if notice_ms != 0
            && now >= notice_ms
            && self
                .expiry
                .compare_exchange(
                    packed,
                    packed & !0xffff_ffff,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Expiry::RenewSoon(expires_ms - now);
        }
        Expiry::Valid
    }

    fn idle(&self) -> Duration {
        let last = self.last_ms.load(Ordering::Relaxed);
        Duration::from_millis(since_epoch_ms().saturating_sub(last))
    }
}

pub struct Writer {
    pub protocol: Protocol,
    pub user_id: i64,
    /// Where replays read history from.
    pub chat: Arc<Chat>,
    pub closer: Arc<Closer>,
    pub shutdown: CancellationToken,
    /// Cancelled when either half is finished with the connection.
    pub done: CancellationToken,
    pub ping_interval: Duration,
    pub activity: Arc<Activity>,
    /// Per room, the highest message id already replayed: live copies of
    /// those are dropped.
    pub floors: HashMap<String, i64>,
    /// Whether this (v1) connection asked for presence summaries.
    pub summaries: bool,
    /// The user's replay budget: replays wait for it page by page.
    pub rates: Arc<UserRates>,
}

/// Why the writer stopped: with a close frame to send, or without (the
/// connection is gone or silent).
type Stop = Option<(u16, &'static str)>;

const TOO_SLOW: (u16, &str) = (
    SLOW_CONSUMER,
    "too slow: outbound queue overflowed, reconnect and resume",
);
const SHUTTING_DOWN: (u16, &str) = (GOING_AWAY, "server shutting down");
const EXPIRED: (u16, &str) = (SESSION, TOKEN_EXPIRED);

impl Writer {
    pub async fn run<S>(mut self, mut sink: S, receiver: OutboxReceiver)
    where
        S: Sink<Message, Error = axum::Error> + Unpin + Send,
    {
        let stop = self.pump(&mut sink, &receiver).await;
        // Nothing more is written: what is queued is freed now, and the
        // reader (told by `done`) leaves the rooms, so nothing more arrives
        // and the others hear the connection is gone.
        receiver.close();
        self.done.cancel();
        if let Some((code, reason)) = stop {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let grace = if code == SLOW_CONSUMER {
                SLOW_CLOSE_GRACE
            } else {
                CLOSE_GRACE
            };
            let _ = tokio::time::timeout(grace, sink.send(Message::Close(Some(frame)))).await;
        }
    }

    async fn pump<S>(&mut self, sink: &mut S, receiver: &OutboxReceiver) -> Stop
    where
        S: Sink<Message, Error = axum::Error> + Unpin + Send,
    {
        let period = self.ping_interval;
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                (code, reason) = self.closer.closed() => return Some((code, reason)),
                _ = self.shutdown.cancelled() => return Some(SHUTTING_DOWN),
                _ = self.done.cancelled() => return None,
                // One branch for entries, overflow and the end: an idle
                // connection waits on this select, and each branch is paid
                // for in its future's size.
                taken = receiver.take() => {
                    let batch = match taken {
                        Taken::Items(batch) => batch,
                        Taken::Overflowed => return Some(TOO_SLOW),
                        Taken::Finished => return None,
                    };
                    // A peer that stopped reading blocks these writes; a close
                    // request (slow consumer, shutdown) must still get through.
                    let (closer, shutdown) = (self.closer.clone(), self.shutdown.clone());
                    // Boxed: only a busy connection needs this state; an idle
                    // writer's future stays small.
                    let written = Box::pin(async {
                        for item in batch {
                            // Counted as queued until written: frames in the
                            // writer's hand while the socket is stuck still
                            // count against the bound. A batch frees each
                            // event as it is written (`write`), the rest of
                            // its entry here.
                            let rest = item.rest_weight();
                            self.write(sink, item, receiver).await?;
                            receiver.written(rest);
                        }
                        sink.flush().await
                    });
                    tokio::select! {
                        result = written => if result.is_err() { return None },
                        (code, reason) = closer.closed() => return Some((code, reason)),
                        () = receiver.overflowed() => return Some(TOO_SLOW),
                        _ = shutdown.cancelled() => return Some(SHUTTING_DOWN),
                    }
                }
                _ = ping.tick() => {
                    if self.activity.idle() > 2 * period {
                        tracing::debug!("peer silent for two ping intervals; dropping it");
                        return None;
                    }
                    match self.activity.expiry() {
                        Expiry::Valid => {}
                        Expiry::Expired => return Some(EXPIRED),
                        Expiry::RenewSoon(expires_in_ms) => {
                            let notice = v1::renew_notice(expires_in_ms);
                            if sink.feed(Message::Text(notice.into())).await.is_err() {
                                return None;
                            }
                        }
                    }
                    if sink.send(Message::Ping(Default::default())).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    async fn write<S>(
        &mut self,
        sink: &mut S,
        item: Outbound,
        receiver: &OutboxReceiver,
    ) -> Result<(), axum::Error>
    where
        S: Sink<Message, Error = axum::Error> + Unpin + Send,
    {
        match item {
            Outbound::Frame(frame) => sink.feed(Message::Text(String::from(frame).into())).await,
            Outbound::Event(event) => self.write_event(sink, &event).await,
            Outbound::Events { events, from } => {
                // Freed as written, a chunk at a time rather than per event:
                // each release is an atomic update of the counter that every
                // push to this queue updates too.
                let mut unreleased = Weight::new(0, 0);
                for event in events.iter().skip(from as usize) {
                    self.write_event(sink, event).await?;
                    unreleased = unreleased.plus(Outbound::event_weight(event));
                    if unreleased.bytes() >= RELEASE_CHUNK {
                        receiver.written(unreleased);
                        unreleased = Weight::new(0, 0);
                    }
                }
                if unreleased.frames() > 0 {
                    receiver.written(unreleased);
                }
                Ok(())
            }
            Outbound::PresenceSummaries => {
                self.summaries = true;
                Ok(())
            }
            Outbound::Notice(notice) => {
                if matches!(*notice, Notice::Removed { .. } | Notice::RoomRemoved { .. }) {
                    self.floors.remove(notice.room());
                }
                match self.protocol {
                    Protocol::V1 => sink.feed(Message::Text(v1::notice(&notice).into())).await,
                    Protocol::Compat => {
                        if let Some((code, reason)) = compat::closes(&notice) {
                            self.closer.close(code, reason);
                        }
                        Ok(())
                    }
                }
            }
            Outbound::Replay(replay) => {
                let Replay {
                    room,
                    room_id,
                    since,
                    conn,
                } = *replay;
                // Boxed: rare, and large enough to double every writer's size.
                Box::pin(self.replay(sink, room, room_id, since, conn, receiver)).await
            }
        }
    }

    /// Writes a shared event in this connection's format, if it shows here.
    async fn write_event<S>(&mut self, sink: &mut S, event: &Event) -> Result<(), axum::Error>
    where
        S: Sink<Message, Error = axum::Error> + Unpin + Send,
    {
        if let RoomEvent::Message(m) = &event.kind
            && self.floors.get(&m.room).is_some_and(|floor| m.id <= *floor)
        {
            return Ok(());
        }
        let frame = match self.protocol {
            Protocol::Compat if compat::shows(&event.kind) => {
                event.encoded(Protocol::Compat as usize, compat::encode)
            }
            Protocol::V1 if v1::shows(event, self.user_id, self.summaries) => {
                event.encoded(Protocol::V1 as usize, v1::encode)
            }
            _ => None,
        };
        match frame {
            Some(text) => sink.feed(Message::Text(text)).await,
            None => Ok(()),
        }
    }

    /// Sends the room's stored messages after `since`, oldest first, a page
    /// at a time: a page holds at most a share of the queue's byte budget,
    /// and counts against the budget until written.
    async fn replay<S>(
        &mut self,
        sink: &mut S,
        room: String,
        room_id: i64,
        since: i64,
        conn: ConnId,
        receiver: &OutboxReceiver,
    ) -> Result<(), axum::Error>
    where
        S: Sink<Message, Error = axum::Error> + Unpin + Send,
    {
        let bytes = receiver.limit().bytes() / REPLAY_SHARE;
        let rows = i64::try_from(bytes / MESSAGE_AT_LEAST)
            .unwrap_or(i64::MAX)
            .clamp(1, REPLAY_PAGE);
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        let mut after = since;
        loop {
            // A moderator may remove the connection while it replays: what
            // the room said after that is not for it.
            if !self.chat.holds(&room, conn) {
                break;
            }
            let page = Page::AfterWithin {
                id: after,
                limit: rows,
                bytes,
            };
            let messages = match self.chat.history_seen_by(room_id, page, self.user_id).await {
                Ok(messages) => messages,
                Err(err) => {
                    tracing::error!(error = %err, room, "replay failed");
                    sink.feed(Message::Text(v1::replay_failed().into())).await?;
                    break;
                }
            };
            // Fewer rows than asked for, and not cut by the byte budget: the last page.
            let content: usize = messages.iter().map(|m| m.content.len()).sum();
            let last_page = (messages.len() as i64) < rows && (content as i64) < bytes;
            // Held until written. (A replay cut short by a stuck socket
            // leaves it counted: the connection is closing then anyway.)
            let held = messages.iter().fold(Weight::default(), |sum, m| {
                sum.plus(Weight::frame(stored_bytes(m)))
            });
            receiver.hold(held);
            // Paced by the user's budget: however many replays a client
            // asks for, the server writes them no faster than that.
            let count = u32::try_from(messages.len()).unwrap_or(u32::MAX);
            self.rates.replay(self.user_id, count).await;
            for message in messages {
                sink.feed(Message::Text(v1::message_frame(&message)))
                    .await?;
                after = message.id;
                receiver.written(Weight::frame(stored_bytes(&message)));
            }
            sink.flush().await?;
            if last_page {
                break;
            }
        }
        let floor = self.floors.entry(room).or_insert(after);
        *floor = (*floor).max(after);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::LocalBus;
    use crate::chat::outbox::Outbox;
    use crate::chat::rooms::Actor;
    use crate::model::{MessageText, StoredMessage, User, Username};
    use crate::store;
    use futures_util::SinkExt;
    use tokio::sync::mpsc;
    use tokio_util::sync::PollSender;

    #[test]
    fn a_token_is_valid_until_its_expiry_and_the_chapters_never_expires() {
        let now = unix_ms();
        let activity = Activity::new();
        assert_eq!(activity.expiry(), Expiry::Valid, "no expiry set");
        activity.expire_at(now / 1000 + 3600, now);
        assert_eq!(activity.expiry(), Expiry::Valid, "an hour left");
        activity.expire_at(now / 1000 + 100, now);
        assert!(
            matches!(activity.expiry(), Expiry::Valid),
            "100 s left: the notice comes at 60 s"
        );
        activity.expire_at(now / 1000 - 1, now);
        assert_eq!(activity.expiry(), Expiry::Expired);
        assert!(
            std::mem::size_of::<Activity>() <= 16,
            "every connection has one"
        );
    }

    /// The connection the replay tests replay to.
    const REPLAYED: ConnId = 7;

    /// A chat core on a real store in a temporary directory.
    async fn chat() -> (Arc<Chat>, User, crate::model::Room, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = store::open(&url).await.expect("store opens");
        let user = store
            .create_user(&Username::parse("wendy").expect("name"), "x")
            .await
            .expect("user");
        let (bus, inbound) = LocalBus::new();
        let shutdown = CancellationToken::new();
        let (chat, _) = Chat::start(
            store,
            Arc::new(bus),
            inbound,
            Duration::from_millis(10),
            crate::chat::rooms::Policy::default(),
            shutdown,
        );
        let actor = Actor {
            user: &user,
            admin: false,
        };
        let room = chat
            .create_room(actor, "r", "", crate::model::Visibility::Public)
            .await
            .expect("room");
        (Arc::new(chat), user, room, dir)
    }

    fn writer(chat: Arc<Chat>, protocol: Protocol) -> Writer {
        Writer {
            protocol,
            user_id: 1,
            chat,
            closer: Arc::new(Closer::default()),
            shutdown: CancellationToken::new(),
            done: CancellationToken::new(),
            ping_interval: Duration::from_secs(60),
            activity: Arc::new(Activity::new()),
            floors: HashMap::new(),
            summaries: false,
            rates: Arc::new(UserRates::new(0, 0)),
        }
    }

    type TestSink = std::pin::Pin<Box<dyn Sink<Message, Error = axum::Error> + Send>>;

    fn sink() -> (TestSink, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(64);
        let sink =
            PollSender::new(tx).sink_map_err(|_| axum::Error::new(std::io::Error::other("gone")));
        (Box::pin(sink), rx)
    }

    /// Starts a writer for `protocol` on a sink that a test reads from.
    fn start(
        chat: Arc<Chat>,
        protocol: Protocol,
        receiver: crate::chat::outbox::OutboxReceiver,
    ) -> mpsc::Receiver<Message> {
        let (sink, rx) = sink();
        tokio::spawn(writer(chat, protocol).run(sink, receiver));
        rx
    }

    /// An idle connection's writer is this future, parked; thousands of them
    /// are most of what idle connections cost (measured: 824 bytes with
    /// the boxed sink of these tests).
    #[tokio::test]
    async fn an_idle_writer_stays_small() {
        let (chat, _, _, _dir) = chat().await;
        let (_outbox, receiver) = Outbox::new(1, 1 << 20);
        let (sink, _rx) = sink();
        let future = writer(chat, Protocol::V1).run(sink, receiver);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 850, "the writer's future grew to {size} bytes");
    }

    async fn text(rx: &mut mpsc::Receiver<Message>) -> String {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(Message::Text(text))) => text.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    fn typing(user_id: i64) -> Outbound {
        Outbound::Event(Arc::new(Event::new(RoomEvent::Typing {
            room: "r".into(),
            user: format!("u{user_id}"),
            user_id,
        })))
    }

    async fn stored(
        chat: &Chat,
        room: &crate::model::Room,
        user: &User,
        text: &str,
    ) -> StoredMessage {
        let text = MessageText::parse(text.into(), 100).expect("text");
        let reply = chat
            .post((room.id, &room.name), user, text, None, None)
            .await
            .expect("accepted");
        match reply.await.expect("answered").expect("stored") {
            crate::chat::publisher::Posted::Stored { message, .. } => message,
            other => panic!("not stored: {other:?}"),
        }
    }

    #[tokio::test]
    async fn each_format_shows_what_it_shows_in_order() {
        let (chat, _, _, _dir) = chat().await;
        let (outbox, receiver) = Outbox::new(16, 1 << 20);
        assert!(outbox.push(typing(1)) && outbox.push(typing(2)));
        assert!(outbox.push(Outbound::Frame("{\"type\":\"pong\"}".into())));
        let mut rx = start(chat.clone(), Protocol::V1, receiver);
        // The connection's own typing is not shown back to it.
        assert_eq!(
            text(&mut rx).await,
            r#"{"type":"typing","room":"r","user":"u2"}"#
        );
        assert_eq!(text(&mut rx).await, r#"{"type":"pong"}"#);

        let (outbox, receiver) = Outbox::new(16, 1 << 20);
        assert!(outbox.push(typing(2)) && outbox.push(Outbound::Frame("x".into())));
        let mut rx = start(chat, Protocol::Compat, receiver);
        // The chapter's protocol has no typing notices.
        assert_eq!(text(&mut rx).await, "x");
    }

    #[tokio::test]
    async fn a_replay_comes_first_and_live_copies_it_covered_are_dropped() {
        let (chat, user, room, _dir) = chat().await;
        let first = stored(&chat, &room, &user, "one").await;
        let second = stored(&chat, &room, &user, "two").await;
        let (outbox, receiver) = Outbox::new(16, 1 << 20);
        // A replay reads only while its connection is in the room.
        let actor = Actor {
            user: &user,
            admin: false,
        };
        chat.enter(actor, "r", REPLAYED, &outbox, |_, _| Vec::new())
            .await
            .expect("joined");
        let replay = Replay {
            room: "r".into(),
            room_id: room.id,
            since: 0,
            conn: REPLAYED,
        };
        assert!(outbox.push(Outbound::Replay(Box::new(replay))));
        // Both were also queued live behind the marker.
        for message in [first, second] {
            let event = Event::new(RoomEvent::Message(message));
            assert!(outbox.push(Outbound::Event(Arc::new(event))));
        }
        assert!(outbox.push(Outbound::Frame("end".into())));
        let mut rx = start(chat, Protocol::V1, receiver);
        for content in ["one", "two"] {
            let frame: serde_json::Value =
                serde_json::from_str(&text(&mut rx).await).expect("JSON");
            assert_eq!(
                (frame["type"].as_str(), frame["content"].as_str()),
                (Some("message"), Some(content))
            );
        }
        assert_eq!(text(&mut rx).await, "end");
    }

    #[tokio::test]
    async fn a_replay_page_counts_against_the_budget_until_written() {
        let (chat, user, room, _dir) = chat().await;
        let kilobyte = "k".repeat(1000);
        for _ in 0..12 {
            let text = MessageText::parse(kilobyte.clone(), 1000).expect("text");
            let reply = chat
                .post((room.id, &room.name), &user, text, None, None)
                .await
                .expect("accepted");
            reply.await.expect("answered").expect("stored");
        }
        // 8 KiB: pages of 2 KiB of content, three of these messages each.
        let budget = 8 * 1024;
        let (outbox, receiver) = Outbox::new(1000, budget);
        // A replay reads only while its connection is in the room.
        let actor = Actor {
            user: &user,
            admin: false,
        };
        chat.enter(actor, "r", REPLAYED, &outbox, |_, _| Vec::new())
            .await
            .expect("joined");
        let replay = Replay {
            room: "r".into(),
            room_id: room.id,
            since: 0,
            conn: REPLAYED,
        };
        assert!(outbox.push(Outbound::Replay(Box::new(replay))));
        // A peer that read one frame and stopped: the writer is stuck in
        // the middle of its first page.
        let (sink, mut rx) = {
            let (tx, rx) = mpsc::channel(1);
            let sink = PollSender::new(tx)
                .sink_map_err(|_| axum::Error::new(std::io::Error::other("gone")));
            (Box::pin(sink) as TestSink, rx)
        };
        tokio::spawn(writer(chat, Protocol::V1).run(sink, receiver));
        assert!(text(&mut rx).await.contains(&kilobyte));
        // What is queued is a marker's worth; what the writer holds of the
        // page is not queued, and still leaves no room for this.
        let almost = "f".repeat(budget - 200);
        assert!(
            !outbox.push(Outbound::Frame(almost.into())),
            "the page counts"
        );
        let mut frames = 0;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(Message::Text(_))) => frames += 1,
                Ok(Some(Message::Close(Some(frame)))) => {
                    assert_eq!(frame.code, SLOW_CONSUMER);
                    break;
                }
                other => panic!("expected the rest of the page, then a close: {other:?}"),
            }
        }
        assert!(
            frames < 11,
            "cut off, not replayed to the end ({frames} more)"
        );
    }

    #[tokio::test]
    async fn an_overflowed_queue_closes_with_the_slow_consumer_code() {
        let (chat, _, _, _dir) = chat().await;
        let (outbox, receiver) = Outbox::new(1, 1 << 20);
        assert!(outbox.push(typing(2)));
        assert!(!outbox.push(typing(2)), "over the bound");
        let mut rx = start(chat, Protocol::V1, receiver);
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(Message::Close(Some(frame)))) => assert_eq!(frame.code, SLOW_CONSUMER),
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
