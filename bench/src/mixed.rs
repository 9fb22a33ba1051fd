//! `mixed`: R rooms x M members over palaver.v1, S senders per room whose
//! commands are a mix: 80 % `send`, 10 % a reaction toggled on a recent
//! message of the room (any author), 5 % `edit` and 5 % `delete` of one of
//! the sender's own recent messages. Open loop, like `fanout`.
//!
//! The point is convergence: every member builds its view of every message
//! of its room (content, deleted, count per emoji) from the events it got,
//! applying them as "set" operations as the protocol says a client should.
//! Once the last acknowledged entry of each room has reached every member,
//! all views of a room must be the same, and the same as the room's history
//! from `GET /rooms/{room}/messages`.

use super::BenchError;
use super::client::{self, Node, Socket};
use super::report::{CpuMark, CpuUsed, Latency, histogram, micros, rss_bytes};
use super::track::Probe;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Reactions are toggled among these: three emoji and a short name, so that
/// both forms the contract allows are exercised.
const EMOJIS: [&str; 4] = ["👍", "🎉", "😂", ":bench:"];

/// How many of the newest messages a sender picks its targets from: recent
/// enough that several senders hit the same messages, and deletes race
/// with reactions.
const RECENT: usize = 32;

/// History page size; the server's default `--history-limit` is 1000.
const PAGE: usize = 500;

/// Differences listed in the report (all are counted).
const LISTED: usize = 10;

#[derive(Debug, Clone)]
pub struct Plan {
    pub rooms: usize,
    pub members: usize,
    pub senders: usize,
    /// Commands per second per sender.
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    /// The longest wait, once sending stops, for every command's answer and
    /// for the last acknowledged entry to reach every member.
    pub quiet_timeout: Duration,
    /// Room names: this plus the room's number. Fresh rooms for each run, so
    /// that the history holds this run's messages only.
    pub room_prefix: String,
}

impl Plan {
    pub fn room(&self, r: usize) -> String {
        format!("{}{r}", self.room_prefix)
    }

    pub fn room_names(&self) -> Vec<String> {
        (0..self.rooms).map(|r| self.room(r)).collect()
    }
}

/// The commands of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Action {
    Send,
    React,
    Unreact,
    Edit,
    Delete,
}

const ACTIONS: [Action; 5] = [
    Action::Send,
    Action::React,
    Action::Unreact,
    Action::Edit,
    Action::Delete,
];

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::React => "react",
            Self::Unreact => "unreact",
            Self::Edit => "edit",
            Self::Delete => "delete",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// An error the mix makes happen by design: a reaction aimed at a
    /// message that its author deleted before the reaction got there.
    /// Edits and deletes only aim at the sender's own messages, which no
    /// one else deletes, so a `not_found` there is a fault.
    fn expects(self, code: &str) -> bool {
        matches!(self, Self::React | Self::Unreact) && code == "not_found"
    }
}

/// One command as chosen; `emoji` indexes `EMOJIS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Send,
    React { id: i64, emoji: usize },
    Unreact { id: i64, emoji: usize },
    Edit { id: i64 },
    Delete { id: i64 },
}

impl Command {
    fn action(self) -> Action {
        match self {
            Self::Send => Action::Send,
            Self::React { .. } => Action::React,
            Self::Unreact { .. } => Action::Unreact,
            Self::Edit { .. } => Action::Edit,
            Self::Delete { .. } => Action::Delete,
        }
    }
}

/// xorshift64*: the mix needs spread, not statistical quality, and the
/// bench takes no crate for it.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Never zero, which xorshift would keep for ever.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// What one sender knows and has asked, shared by its writer (which picks
/// the next command) and its connection's reader (which sees the room's
/// messages and the answers). Never held across an await.
struct Book {
    /// The room's newest messages as this sender saw them, oldest first,
    /// without those it saw deleted.
    recent: VecDeque<i64>,
    /// Its own acknowledged messages, oldest first, without those it deleted.
    own: VecDeque<i64>,
    /// The (message, emoji) reactions its own commands left in place,
    /// oldest first: toggled off again by later draws.
    reacted: VecDeque<(i64, usize)>,
    /// Commands not answered yet: sequence number -> (action, planned ns).
    pending: HashMap<u64, (Action, u64)>,
    /// Commands answered yet unknown (a client id not pending).
    stray: u64,
    /// Each acknowledged change's stream position with its command's
    /// planned time: joined with the deliveries for the change latency.
    changes: Vec<(i64, u64)>,
    issued: [u64; 5],
    acked: [u64; 5],
    acked_in_window: u64,
    /// Acks without a `stream_id`: the command changed nothing.
    unchanged: u64,
    duplicate_acks: u64,
    /// (code, action) -> count; `None`: an error that named no command.
    errors: BTreeMap<(String, Option<Action>), u64>,
    /// The highest stream position an ack of this sender named.
    last_acked: i64,
    ack_latency: Histogram<u64>,
}

impl Book {
    fn new() -> Self {
        Self {
            recent: VecDeque::with_capacity(RECENT),
            own: VecDeque::with_capacity(RECENT),
            reacted: VecDeque::with_capacity(RECENT),
            pending: HashMap::new(),
            stray: 0,
            changes: Vec::new(),
            issued: [0; 5],
            acked: [0; 5],
            acked_in_window: 0,
            unchanged: 0,
            duplicate_acks: 0,
            errors: BTreeMap::new(),
            last_acked: 0,
            ack_latency: histogram(),
        }
    }

    fn saw_message(&mut self, id: i64) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(id);
    }

    fn saw_deleted(&mut self, id: i64) {
        self.recent.retain(|m| *m != id);
        self.own.retain(|m| *m != id);
        self.reacted.retain(|(m, _)| *m != id);
    }

    /// A reaction toggled: half the time (when it has any) one of the
    /// sender's own reactions is taken back, so that counts go down as well
    /// as up; else an emoji on a random recent message, taken back if the
    /// sender had put it there.
    fn toggle(&mut self, rng: &mut Rng) -> Command {
        if !self.reacted.is_empty()
            && rng.below(2) == 0
            && let Some((id, emoji)) = self.reacted.remove(rng.below(self.reacted.len()))
        {
            return Command::Unreact { id, emoji };
        }
        let Some(id) = pick(&self.recent, rng) else {
            return Command::Send;
        };
        let emoji = rng.below(EMOJIS.len());
        if let Some(at) = self.reacted.iter().position(|r| *r == (id, emoji)) {
            self.reacted.remove(at);
            return Command::Unreact { id, emoji };
        }
        if self.reacted.len() == RECENT {
            self.reacted.pop_front();
        }
        self.reacted.push_back((id, emoji));
        Command::React { id, emoji }
    }

    /// The next command of the mix. An action with nothing to act on (no
    /// message seen yet, none of its own) becomes a send.
    fn choose(&mut self, rng: &mut Rng) -> Command {
        let roll = rng.below(100);
        let command = if roll < 80 {
            Command::Send
        } else if roll < 90 {
            self.toggle(rng)
        } else if roll < 95 {
            pick(&self.own, rng).map_or(Command::Send, |id| Command::Edit { id })
        } else {
            match pick(&self.own, rng) {
                None => Command::Send,
                Some(id) => {
                    // Never aimed at again by this sender: a second delete or
                    // an edit after it would be a not_found of its own making.
                    self.saw_deleted(id);
                    Command::Delete { id }
                }
            }
        };
        self.issued[command.action().index()] += 1;
        command
    }

    fn on_ack(&mut self, frame: &Frame, seq: Option<u64>, now_ns: u64, window: &Window) {
        let Some((action, planned)) = seq.and_then(|s| self.pending.remove(&s)) else {
            self.stray += 1;
            return;
        };
        self.acked[action.index()] += 1;
        if window.holds(now_ns) {
            self.acked_in_window += 1;
        }
        if window.holds(planned) {
            let _ = self
                .ack_latency
                .record(micros(Duration::from_nanos(now_ns.saturating_sub(planned))));
        }
        if frame.duplicate {
            self.duplicate_acks += 1;
        }
        if action == Action::Send {
            if let Some(id) = frame.id {
                if self.own.len() == RECENT {
                    self.own.pop_front();
                }
                self.own.push_back(id);
                self.last_acked = self.last_acked.max(id);
            }
        } else if let Some(stream_id) = frame.stream_id {
            self.changes.push((stream_id, planned));
            self.last_acked = self.last_acked.max(stream_id);
        } else {
            self.unchanged += 1;
        }
    }

    fn on_error(&mut self, frame: &Frame, seq: Option<u64>) {
        let action = seq
            .and_then(|s| self.pending.remove(&s))
            .map(|(action, _)| action);
        let code = frame.code.clone().unwrap_or_default();
        *self.errors.entry((code, action)).or_default() += 1;
    }
}

fn pick(ids: &VecDeque<i64>, rng: &mut Rng) -> Option<i64> {
    if ids.is_empty() {
        return None;
    }
    ids.get(rng.below(ids.len())).copied()
}

/// The state of one message as a member (or the server's history) has it.
/// `content` is `None` for a message known only from a change to it (its
/// `message` event never came).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    content: Option<String>,
    deleted: bool,
    /// Emoji -> count, without those at zero.
    reactions: BTreeMap<String, u64>,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.content {
            None => write!(f, "(no message event)")?,
            Some(content) => write!(f, "{content:?}")?,
        }
        if self.deleted {
            write!(f, " deleted")?;
        }
        for (emoji, count) in &self.reactions {
            write!(f, " {emoji}×{count}")?;
        }
        Ok(())
    }
}

/// A room's messages by id.
pub type View = BTreeMap<i64, Entry>;

/// The fields of a server frame the scenario reads; the rest is ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    id: Option<i64>,
    stream_id: Option<i64>,
    content: Option<String>,
    deleted: bool,
    emoji: Option<String>,
    count: Option<u64>,
    reactions: Vec<Reaction>,
    client_id: Option<String>,
    /// Every command carries its sequence number as `ref`, which every
    /// answer echoes, even an error that names no `client_id`.
    #[serde(rename = "ref")]
    reference: Option<serde_json::Value>,
    code: Option<String>,
    duplicate: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Reaction {
    emoji: String,
    count: u64,
}

fn set_reaction(entry: &mut Entry, emoji: &str, count: u64) {
    if count == 0 {
        entry.reactions.remove(emoji);
    } else {
        entry.reactions.insert(emoji.to_owned(), count);
    }
}

/// A message as a `message` event or a history page gives it: tombstones
/// and the reactions aggregate come with replays and history only.
fn entry_of_message(frame: &Frame) -> Entry {
    let mut entry = Entry {
        content: Some(frame.content.clone().unwrap_or_default()),
        deleted: frame.deleted,
        reactions: BTreeMap::new(),
    };
    for r in &frame.reactions {
        set_reaction(&mut entry, &r.emoji, r.count);
    }
    entry
}

/// Applies one event to a view, as a "set": what the server says now
/// replaces what the view had. Returns the event's stream position (a
/// message's id, a change's `stream_id`), or `None` for other frames.
fn apply(view: &mut View, frame: &Frame) -> Option<i64> {
    let id = frame.id?;
    match frame.kind.as_str() {
        "message" => {
            view.insert(id, entry_of_message(frame));
            Some(id)
        }
        "edited" => {
            let entry = view.entry(id).or_default();
            entry.content = Some(frame.content.clone().unwrap_or_default());
            if frame.deleted {
                entry.deleted = true;
                entry.reactions.clear();
            }
            frame.stream_id
        }
        "deleted" => {
            let entry = view.entry(id).or_default();
            entry.content = Some(String::new());
            entry.deleted = true;
            // A deleted message's reactions are erased with it.
            entry.reactions.clear();
            frame.stream_id
        }
        "reaction" => {
            let entry = view.entry(id).or_default();
            set_reaction(
                entry,
                frame.emoji.as_deref().unwrap_or_default(),
                frame.count?,
            );
            frame.stream_id
        }
        _ => None,
    }
}

/// Where `mine` and `server` part; at most `limit` described, all counted.
fn compare(who: &str, mine: &View, server: &View, limit: usize, out: &mut Vec<String>) -> u64 {
    let mut found = 0;
    let mut note = |line: String| {
        found += 1;
        if out.len() < limit {
            out.push(line);
        }
    };
    for (id, theirs) in server {
        match mine.get(id) {
            None => note(format!("{who}: message {id} missing (server: {theirs})")),
            Some(entry) if entry != theirs => {
                note(format!("{who}: message {id} is {entry}, server: {theirs}"));
            }
            Some(_) => {}
        }
    }
    for (id, entry) in mine {
        if !server.contains_key(id) {
            note(format!(
                "{who}: message {id} ({entry}) is not in the server's history"
            ));
        }
    }
    found
}

/// `<run>-<sender>-<seq>` -> seq, for this run's client ids only.
fn seq_of(client_id: &str, run_id: &str) -> Option<u64> {
    let rest = client_id.strip_prefix(run_id)?.strip_prefix('-')?;
    rest.rsplit_once('-')?.1.parse().ok()
}

/// The measured window, in ns since the run's origin.
#[derive(Debug, Clone, Copy)]
struct Window {
    start_ns: u64,
    end_ns: u64,
}

impl Window {
    fn holds(&self, ns: u64) -> bool {
        (self.start_ns..self.end_ns).contains(&ns)
    }
}

struct Shared {
    origin: Instant,
    window: Window,
    run_id: Arc<str>,
    stop: CancellationToken,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// Event types counted as deliveries, in the order of `Member::delivered`.
const DELIVERED: [&str; 4] = ["message", "edited", "deleted", "reaction"];

/// What one member saw.
struct Member {
    room: usize,
    index: usize,
    view: View,
    /// The highest stream position seen, for the quiet wait.
    position: Arc<AtomicI64>,
    /// Entries whose position was not above the last one's (a duplicate or
    /// a reordering: the stream is one order, each entry once).
    out_of_order: u64,
    delivered: [u64; 4],
    delivered_in_window: u64,
    /// `message` events: planned send time -> arrival.
    message_latency: Histogram<u64>,
    /// Change events: (stream position, arrival ns), timed once the acks
    /// say which command each one was.
    changes: Vec<(i64, u64)>,
    /// Set when the connection ended before the run did (close code, or 0).
    cut_off: Option<u16>,
}

async fn receive(
    mut read: SplitStream<Socket>,
    mut member: Member,
    book: Option<Arc<Mutex<Book>>>,
    shared: Arc<Shared>,
) -> Member {
    let mut last = 0;
    loop {
        let frame = tokio::select! {
            _ = shared.stop.cancelled() => break,
            frame = read.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                member.cut_off = Some(close.map_or(0, |c| u16::from(c.code)));
                break;
            }
            Some(Ok(_)) => continue,
            _ => {
                member.cut_off = Some(0);
                break;
            }
        };
        let now_ns = shared.now_ns();
        let Ok(frame) = serde_json::from_str::<Frame>(text.as_str()) else {
            continue;
        };
        if let Some(position) = apply(&mut member.view, &frame) {
            if position <= last {
                member.out_of_order += 1;
            } else {
                last = position;
                member.position.store(position, Ordering::Relaxed);
            }
            if let Some(kind) = DELIVERED.iter().position(|k| *k == frame.kind) {
                member.delivered[kind] += 1;
            }
            if shared.window.holds(now_ns) {
                member.delivered_in_window += 1;
            }
            if frame.kind == "message" {
                let probe = frame.content.as_deref().and_then(Probe::decode);
                if let Some(probe) = probe.filter(|p| shared.window.holds(p.sent_ns)) {
                    let late = Duration::from_nanos(now_ns.saturating_sub(probe.sent_ns));
                    let _ = member.message_latency.record(micros(late));
                }
            } else {
                member.changes.push((position, now_ns));
            }
        }
        let Some(book) = &book else { continue };
        let seq = frame
            .reference
            .as_ref()
            .and_then(serde_json::Value::as_u64)
            .or_else(|| {
                frame
                    .client_id
                    .as_deref()
                    .and_then(|c| seq_of(c, &shared.run_id))
            });
        let mut book = book.lock().unwrap_or_else(PoisonError::into_inner);
        match (frame.kind.as_str(), frame.id) {
            ("message", Some(id)) => book.saw_message(id),
            ("deleted", Some(id)) => book.saw_deleted(id),
            ("ack", _) => book.on_ack(&frame, seq, now_ns, &shared.window),
            ("error", _) => book.on_error(&frame, seq),
            _ => {}
        }
    }
    member
}

type SenderDone = (Histogram<u64>, SplitSink<Socket, Message>);

/// Sends the mix at the planned times, whether or not the server keeps up.
#[allow(clippy::too_many_arguments)]
async fn send(
    mut write: SplitSink<Socket, Message>,
    rate: f64,
    room: String,
    sender: usize,
    book: Arc<Mutex<Book>>,
    start: Instant,
    end: Instant,
    shared: Arc<Shared>,
) -> SenderDone {
    let period = Duration::from_secs_f64(1.0 / rate);
    // Spread the senders' phases so they do not all fire on the same tick.
    let phase = period.mul_f64((sender % 97) as f64 / 97.0);
    let mut rng = Rng::new((sender as u64 + 1) ^ (shared.origin.elapsed().as_nanos() as u64));
    let mut lateness = histogram();
    let mut seq = 0u64;
    loop {
        let planned = start + phase + period.mul_f64(seq as f64);
        if planned >= end {
            break;
        }
        tokio::time::sleep_until(planned.into()).await;
        let _ = lateness.record(micros(Instant::now().saturating_duration_since(planned)));
        let planned_ns = (planned - shared.origin).as_nanos() as u64;
        let client_id = format!("{}-{sender}-{seq}", shared.run_id);
        let command = {
            let mut book = book.lock().unwrap_or_else(PoisonError::into_inner);
            let command = book.choose(&mut rng);
            book.pending.insert(seq, (command.action(), planned_ns));
            command
        };
        let mut frame = match command {
            Command::Send => serde_json::json!({
                "type": "send", "room": room, "client_id": client_id,
                "content": Probe { sender, seq, sent_ns: planned_ns }.encode(),
            }),
            Command::Edit { id } => serde_json::json!({
                "type": "edit", "room": room, "id": id, "client_id": client_id,
                // Never the content it had: an edit that changes nothing has no entry.
                "content": format!("edit {sender}:{seq}"),
            }),
            Command::Delete { id } => serde_json::json!({
                "type": "delete", "room": room, "id": id, "client_id": client_id,
            }),
            Command::React { id, emoji } | Command::Unreact { id, emoji } => serde_json::json!({
                "type": command.action().name(), "room": room, "id": id,
                "emoji": EMOJIS[emoji], "client_id": client_id,
            }),
        };
        frame["ref"] = seq.into();
        if write
            .send(Message::Text(frame.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
        seq += 1;
    }
    (lateness, write)
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub rooms: usize,
    pub members: usize,
    pub senders_per_room: usize,
    pub rate_per_sender: f64,
    pub offered_commands_per_s: f64,
    /// Commands sent, by action (the mix as it came out: an action with no
    /// target yet is a send).
    pub issued: BTreeMap<&'static str, u64>,
    pub acked: BTreeMap<&'static str, u64>,
    /// Acks that arrived inside the measured window, per second.
    pub acked_per_s: f64,
    /// Acks without a stream position: the command changed nothing (a
    /// reaction already there, or already gone).
    pub unchanged_acks: u64,
    pub duplicate_acks: u64,
    /// Error code -> action -> count (`none`: the error named no command).
    pub errors: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Errors other than a reaction's not_found on a message deleted meanwhile.
    pub unexpected_errors: u64,
    /// Commands with neither an ack nor an error by the end of the quiet wait.
    pub unanswered: u64,
    /// Answers naming no command of this run.
    pub stray_answers: u64,
    /// Events delivered to the members, by type.
    pub deliveries: BTreeMap<&'static str, u64>,
    /// Events (all four types) that arrived inside the measured window, per second.
    pub deliveries_per_s: f64,
    /// `send` planned -> its `message` event at each member (as in fanout).
    pub message_latency: Latency,
    /// Edit, delete, react and unreact: the command's planned send time ->
    /// its event at each member (joined through the ack's stream_id).
    pub change_latency: Latency,
    /// Planned send time -> ack, all commands.
    pub ack_latency: Latency,
    /// Change events whose command's ack never came: not timed.
    pub untimed_changes: u64,
    /// How late senders were against their plan (open loop).
    pub sender_lateness: Latency,
    pub out_of_order: u64,
    pub disconnected: u64,
    pub close_codes: Vec<u16>,
    /// From the end of sending until every answer and the last acked entry
    /// of each room had come (or the quiet timeout).
    pub quiet_s: f64,
    /// Whether the quiet condition was met before the timeout.
    pub quiet: bool,
    /// "yes (N messages, K rooms)" or "no".
    pub converged: String,
    /// Every (member, message) that differs from the server's history.
    pub differences: u64,
    pub first_differences: Vec<String>,
    /// The rooms' history at the end: messages (tombstones included), of
    /// them deleted and edited ones, and the reactions on the rest.
    pub messages: u64,
    pub deleted: u64,
    pub reactions: u64,
    pub connect_s: f64,
    pub cpu: CpuUsed,
    pub server_rss_before: Option<u64>,
    pub server_rss_after: Option<u64>,
}

pub async fn run(
    nodes: &[Node],
    tokens: &[String],
    plan: &Plan,
    server_pid: Option<u32>,
) -> Result<Outcome, BenchError> {
    if plan.senders > plan.members {
        return Err(BenchError::Setup("senders must fit in a room".into()));
    }
    if plan.rate <= 0.0 || !plan.rate.is_finite() {
        return Err(BenchError::Setup("--rate must be above 0".into()));
    }
    let Some(first) = nodes.first() else {
        return Err(BenchError::Setup("no --url".into()));
    };
    let rss_before = server_pid.and_then(rss_bytes);
    let connect_started = Instant::now();
    let sockets = client::connect_rooms(
        (nodes, tokens),
        (plan.rooms, plan.members),
        |r| plan.room(r),
        client::Wire::V1,
    )
    .await?;
    let connect_s = connect_started.elapsed().as_secs_f64();

    let origin = Instant::now();
    let start = origin + Duration::from_millis(500);
    let window_start = start + plan.warmup;
    let end = window_start + plan.duration;
    let shared = Arc::new(Shared {
        origin,
        window: Window {
            start_ns: (window_start - origin).as_nanos() as u64,
            end_ns: (end - origin).as_nanos() as u64,
        },
        run_id: client::run_id().into(),
        stop: CancellationToken::new(),
    });

    let mut members: Vec<JoinHandle<Member>> = Vec::new();
    let mut positions: Vec<(usize, Arc<AtomicI64>)> = Vec::new();
    let mut books: Vec<(usize, Arc<Mutex<Book>>)> = Vec::new();
    let mut senders: Vec<JoinHandle<SenderDone>> = Vec::new();
    for (r, room) in sockets.into_iter().enumerate() {
        for (m, ws) in room.into_iter().enumerate() {
            let (write, read) = ws.split();
            let position = Arc::new(AtomicI64::new(0));
            positions.push((r, position.clone()));
            let member = Member {
                room: r,
                index: m,
                view: View::new(),
                position,
                out_of_order: 0,
                delivered: [0; 4],
                delivered_in_window: 0,
                message_latency: histogram(),
                changes: Vec::new(),
                cut_off: None,
            };
            let book = (m < plan.senders).then(|| Arc::new(Mutex::new(Book::new())));
            members.push(tokio::spawn(receive(
                read,
                member,
                book.clone(),
                shared.clone(),
            )));
            match book {
                Some(book) => {
                    books.push((r, book.clone()));
                    senders.push(tokio::spawn(send(
                        write,
                        plan.rate,
                        plan.room(r),
                        r * plan.senders + m,
                        book,
                        start,
                        end,
                        shared.clone(),
                    )));
                }
                None => {
                    // Keep the write half alive; pings are answered by the read half.
                    tokio::spawn(async move {
                        let _write = write;
                        std::future::pending::<()>().await;
                    });
                }
            }
        }
    }

    let cpu = CpuMark::now(server_pid);
    let mut lateness = histogram();
    let mut open_sinks = Vec::new();
    for task in senders {
        let (late, sink) = task.await.map_err(|e| BenchError::Setup(e.to_string()))?;
        lateness
            .add(late)
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        open_sinks.push(sink);
    }
    let cpu = cpu.since(server_pid);

    // Quiet: every command answered, then every member at its room's last
    // acknowledged position. Polled: the condition spans every task.
    let quiet_started = Instant::now();
    let deadline = quiet_started + plan.quiet_timeout;
    let lock = |b: &Arc<Mutex<Book>>| {
        b.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .is_empty()
    };
    while !books.iter().all(|(_, b)| lock(b)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut targets = vec![0i64; plan.rooms];
    for (r, book) in &books {
        let last = book
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_acked;
        targets[*r] = targets[*r].max(last);
    }
    let arrived = || {
        positions
            .iter()
            .all(|(r, p)| p.load(Ordering::Relaxed) >= targets[*r])
    };
    while !arrived() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let quiet = arrived() && books.iter().all(|(_, b)| lock(b));
    let quiet_s = quiet_started.elapsed().as_secs_f64();
    shared.stop.cancel();
    let rss_after = server_pid.and_then(rss_bytes);
    drop(open_sinks);

    let mut seen = Vec::new();
    for task in members {
        seen.push(task.await.map_err(|e| BenchError::Setup(e.to_string()))?);
    }
    // Every task that shared a book has ended: each is this one's alone now.
    let mut owned = Vec::with_capacity(books.len());
    for (_, book) in books {
        let book = Arc::try_unwrap(book)
            .map_err(|_| BenchError::Setup("a sender's book is still shared".into()))?;
        owned.push(book.into_inner().unwrap_or_else(PoisonError::into_inner));
    }
    let books = owned;

    // The server's history, read once everything was delivered.
    let http = reqwest::Client::new();
    let mut server = Vec::with_capacity(plan.rooms);
    for r in 0..plan.rooms {
        server.push(history(&http, first, &tokens[0], &plan.room(r)).await?);
    }

    let mut outcome = tally(plan, &books, &seen, &server, &shared, &lateness, targets);
    outcome.quiet = quiet;
    outcome.quiet_s = quiet_s;
    outcome.connect_s = connect_s;
    outcome.cpu = cpu;
    outcome.server_rss_before = rss_before;
    outcome.server_rss_after = rss_after;
    Ok(outcome)
}

/// The figures and the verdict, from what the senders and members kept.
fn tally(
    plan: &Plan,
    books: &[Book],
    seen: &[Member],
    server: &[View],
    shared: &Shared,
    lateness: &Histogram<u64>,
    targets: Vec<i64>,
) -> Outcome {
    let seconds = plan.duration.as_secs_f64();
    let mut issued = [0u64; 5];
    let mut acked = [0u64; 5];
    let mut errors: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
    let mut unexpected_errors = 0;
    let mut ack_latency = histogram();
    let mut planned_of: HashMap<i64, u64> = HashMap::new();
    let (mut acked_in_window, mut unchanged, mut duplicate_acks, mut unanswered, mut stray) =
        (0, 0, 0, 0, 0);
    for book in books {
        for a in ACTIONS {
            issued[a.index()] += book.issued[a.index()];
            acked[a.index()] += book.acked[a.index()];
        }
        for ((code, action), n) in &book.errors {
            let name = action.map_or("none", Action::name);
            *errors
                .entry(code.clone())
                .or_default()
                .entry(name)
                .or_default() += n;
            if !action.is_some_and(|a| a.expects(code)) {
                unexpected_errors += n;
            }
        }
        let _ = ack_latency.add(&book.ack_latency);
        planned_of.extend(book.changes.iter().copied());
        acked_in_window += book.acked_in_window;
        unchanged += book.unchanged;
        duplicate_acks += book.duplicate_acks;
        unanswered += book.pending.len() as u64;
        stray += book.stray;
    }

    let mut message_latency = histogram();
    let mut change_latency = histogram();
    let (mut untimed, mut out_of_order, mut in_window) = (0, 0, 0);
    let mut delivered = [0u64; 4];
    let mut close_codes = Vec::new();
    let mut first_differences = Vec::new();
    let mut differences = 0;
    for member in seen {
        let _ = message_latency.add(&member.message_latency);
        for (position, arrived) in &member.changes {
            match planned_of.get(position) {
                Some(planned) if shared.window.holds(*planned) => {
                    let late = Duration::from_nanos(arrived.saturating_sub(*planned));
                    let _ = change_latency.record(micros(late));
                }
                Some(_) => {}
                None => untimed += 1,
            }
        }
        for (total, n) in delivered.iter_mut().zip(member.delivered) {
            *total += n;
        }
        in_window += member.delivered_in_window;
        out_of_order += member.out_of_order;
        let who = format!("{} member {}", plan.room(member.room), member.index);
        if let Some(code) = member.cut_off {
            close_codes.push(code);
            differences += 1;
            if first_differences.len() < LISTED {
                first_differences.push(format!("{who}: connection closed ({code})"));
            }
        }
        let target = targets.get(member.room).copied().unwrap_or(0);
        let position = member.position.load(Ordering::Relaxed);
        if position < target {
            differences += 1;
            if first_differences.len() < LISTED {
                first_differences.push(format!(
                    "{who}: got up to {position}, the last acked entry is {target}"
                ));
            }
        }
        if let Some(history) = server.get(member.room) {
            differences += compare(&who, &member.view, history, LISTED, &mut first_differences);
        }
    }
    let messages: u64 = server.iter().map(|v| v.len() as u64).sum();
    let deleted = server
        .iter()
        .flat_map(|v| v.values())
        .filter(|e| e.deleted)
        .count() as u64;
    let reactions = server
        .iter()
        .flat_map(|v| v.values())
        .flat_map(|e| e.reactions.values())
        .sum();
    close_codes.sort_unstable();
    close_codes.dedup();
    let by_action = |counts: [u64; 5]| {
        ACTIONS
            .iter()
            .map(|a| (a.name(), counts[a.index()]))
            .collect()
    };
    Outcome {
        rooms: plan.rooms,
        members: plan.members,
        senders_per_room: plan.senders,
        rate_per_sender: plan.rate,
        offered_commands_per_s: (plan.rooms * plan.senders) as f64 * plan.rate,
        issued: by_action(issued),
        acked: by_action(acked),
        acked_per_s: acked_in_window as f64 / seconds,
        unchanged_acks: unchanged,
        duplicate_acks,
        errors,
        unexpected_errors,
        unanswered,
        stray_answers: stray,
        deliveries: DELIVERED.iter().copied().zip(delivered).collect(),
        deliveries_per_s: in_window as f64 / seconds,
        message_latency: Latency::of(&message_latency),
        change_latency: Latency::of(&change_latency),
        ack_latency: Latency::of(&ack_latency),
        untimed_changes: untimed,
        sender_lateness: Latency::of(lateness),
        out_of_order,
        disconnected: seen.iter().filter(|m| m.cut_off.is_some()).count() as u64,
        close_codes,
        quiet_s: 0.0,
        quiet: false,
        converged: if differences == 0 {
            format!("yes ({messages} messages, {} rooms)", plan.rooms)
        } else {
            "no".to_owned()
        },
        differences,
        first_differences,
        messages,
        deleted,
        reactions,
        connect_s: 0.0,
        cpu: CpuUsed {
            server_s: None,
            generator_s: None,
        },
        server_rss_before: None,
        server_rss_after: None,
    }
}

#[derive(Deserialize)]
struct HistoryPage {
    messages: Vec<Frame>,
    next_after: i64,
    has_more: bool,
}

/// A room's whole history, paged forwards with `after`.
async fn history(
    http: &reqwest::Client,
    node: &Node,
    token: &str,
    room: &str,
) -> Result<View, BenchError> {
    let mut view = View::new();
    let mut after = 0;
    loop {
        let url = format!(
            "{}/rooms/{room}/messages?after={after}&limit={PAGE}",
            node.base
        );
        let page: HistoryPage = get_json(http, &url, token).await?;
        for m in &page.messages {
            if let Some(id) = m.id {
                view.insert(id, entry_of_message(m));
            }
        }
        if !page.has_more || page.messages.is_empty() || page.next_after <= after {
            return Ok(view);
        }
        after = page.next_after;
    }
}

/// A JSON 200; a 429 (the history counts against the reader's replay
/// budget) is waited out a few times, as its Retry-After says.
async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<T, BenchError> {
    let failed = |e: reqwest::Error| BenchError::Request(format!("GET {url}: {e}"));
    let mut tries = 0;
    loop {
        let response = http
            .get(url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS && tries < 5 {
            tries += 1;
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait.clamp(1, 30))).await;
            continue;
        }
        let body = response.bytes().await.map_err(failed)?;
        if status != reqwest::StatusCode::OK {
            return Err(BenchError::Request(format!(
                "GET {url}: HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )));
        }
        return serde_json::from_slice(&body)
            .map_err(|e| BenchError::Request(format!("GET {url}: {e}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Frame {
        match serde_json::from_str(json) {
            Ok(f) => f,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn room_names_are_valid_for_the_server() {
        let plan = Plan {
            rooms: 1000,
            members: 1,
            senders: 1,
            rate: 1.0,
            warmup: Duration::ZERO,
            duration: Duration::ZERO,
            quiet_timeout: Duration::ZERO,
            room_prefix: format!("mixed-{}-", client::run_id()),
        };
        let name = plan.room(999);
        assert!(palaver::model::RoomName::parse(&name).is_ok(), "{name}");
    }

    #[test]
    fn events_set_the_state_they_carry() {
        let mut view = View::new();
        let events = [
            r#"{"type":"message","id":1,"room":"r","user":"a","content":"hi","ts":"t"}"#,
            r#"{"type":"message","id":2,"room":"r","user":"b","content":"yo","ts":"t"}"#,
            r#"{"type":"reaction","room":"r","id":1,"stream_id":3,"emoji":"👍","user":"b","added":true,"count":1}"#,
            r#"{"type":"reaction","room":"r","id":1,"stream_id":4,"emoji":"👍","user":"c","added":true,"count":2}"#,
            r#"{"type":"reaction","room":"r","id":2,"stream_id":5,"emoji":":x:","user":"c","added":true,"count":1}"#,
            r#"{"type":"edited","room":"r","id":1,"stream_id":6,"user":"a","content":"hello","edited_at":"t","ts":"t"}"#,
            r#"{"type":"reaction","room":"r","id":1,"stream_id":7,"emoji":"🎉","user":"a","added":true,"count":1}"#,
            r#"{"type":"reaction","room":"r","id":1,"stream_id":8,"emoji":"👍","user":"b","added":false,"count":1}"#,
            r#"{"type":"reaction","room":"r","id":1,"stream_id":9,"emoji":"🎉","user":"a","added":false,"count":0}"#,
            r#"{"type":"deleted","room":"r","id":2,"stream_id":10,"by":"b","ts":"t"}"#,
            r#"{"type":"presence","room":"r","joined":["x"],"left":[]}"#,
        ];
        let positions: Vec<Option<i64>> =
            events.iter().map(|e| apply(&mut view, &frame(e))).collect();
        assert_eq!(
            positions,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
                .map(Some)
                .into_iter()
                .chain([None])
                .collect::<Vec<_>>()
        );
        let one = &view[&1];
        assert_eq!(one.content.as_deref(), Some("hello"));
        assert!(!one.deleted);
        assert_eq!(one.reactions, BTreeMap::from([("👍".to_owned(), 1)]));
        let two = &view[&2];
        assert_eq!(two.content.as_deref(), Some(""));
        assert!(two.deleted);
        assert!(two.reactions.is_empty(), "erased with the message");
    }

    #[test]
    fn a_replayed_edit_of_a_deleted_message_is_a_tombstone() {
        let mut view = View::new();
        apply(
            &mut view,
            &frame(r#"{"type":"message","id":1,"content":"hi"}"#),
        );
        apply(
            &mut view,
            &frame(r#"{"type":"reaction","id":1,"stream_id":2,"emoji":"👍","count":1}"#),
        );
        apply(
            &mut view,
            &frame(r#"{"type":"edited","id":1,"stream_id":3,"content":"","deleted":true}"#),
        );
        let tombstone = frame(r#"{"type":"message","id":1,"content":"","deleted":true}"#);
        assert_eq!(view[&1], entry_of_message(&tombstone));
    }

    #[test]
    fn history_messages_read_as_events_do() {
        let page: HistoryPage = match serde_json::from_str(
            r#"{"messages":[
                {"id":5,"room":"r","user":"a","content":"x","ts":"t","edited_at":"t",
                 "reactions":[{"emoji":"👍","count":2,"me":true},{"emoji":":ok:","count":1,"me":false}]},
                {"id":6,"room":"r","user":"a","content":"","ts":"t","deleted":true,"deleted_by":"m"}
            ],"next_before":null,"next_after":6,"has_more":false}"#,
        ) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let five = entry_of_message(&page.messages[0]);
        assert_eq!(five.content.as_deref(), Some("x"));
        assert_eq!(five.reactions.len(), 2);
        assert_eq!(five.reactions[":ok:"], 1);
        let six = entry_of_message(&page.messages[1]);
        assert!(six.deleted);
        assert_eq!(page.next_after, 6);
    }

    #[test]
    fn every_difference_is_found_and_only_the_first_listed() {
        let entry = |content: &str| Entry {
            content: Some(content.to_owned()),
            ..Entry::default()
        };
        let server = View::from([(1, entry("a")), (2, entry("b")), (3, entry("c"))]);
        let mut out = Vec::new();
        assert_eq!(compare("m", &server.clone(), &server, 10, &mut out), 0);
        assert!(out.is_empty());

        let mut mine = server.clone();
        mine.remove(&1);
        mine.insert(2, entry("B"));
        let mut reacted = entry("c");
        reacted.reactions.insert("👍".into(), 1);
        mine.insert(3, reacted);
        mine.insert(4, Entry::default());
        assert_eq!(compare("m", &mine, &server, 2, &mut out), 4);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].contains("message 1 missing"), "{out:?}");
        assert!(out[1].contains("message 2"), "{out:?}");
    }

    #[test]
    fn the_mix_is_as_planned_and_aims_where_it_may() {
        let mut book = Book::new();
        book.recent.extend(100..100 + RECENT as i64);
        let mut rng = Rng::new(7);
        let mut counts = [0u32; 5];
        let mut in_place = std::collections::HashSet::new();
        for _ in 0..20_000 {
            if book.own.len() < 8 {
                // Keep it supplied, as the acks would.
                book.own.extend([book.own.len() as i64 + 1000]);
            }
            let command = book.choose(&mut rng);
            counts[command.action().index()] += 1;
            match command {
                Command::Edit { id } | Command::Delete { id } => assert!(id >= 1000, "own only"),
                Command::React { id, emoji } => {
                    assert!((100..100 + RECENT as i64).contains(&id));
                    assert!(in_place.insert((id, emoji)), "not in place already");
                }
                Command::Unreact { id, emoji } => {
                    assert!(in_place.remove(&(id, emoji)), "only its own, once");
                }
                Command::Send => {}
            }
        }
        let share = |n: u32| f64::from(n) / 20_000.0;
        assert!((share(counts[0]) - 0.80).abs() < 0.02, "{counts:?}");
        assert!(
            (share(counts[1] + counts[2]) - 0.10).abs() < 0.02,
            "{counts:?}"
        );
        assert!(counts[2] * 3 > counts[1], "counts go down too: {counts:?}");
        assert!((share(counts[3]) - 0.05).abs() < 0.01, "{counts:?}");
        assert!((share(counts[4]) - 0.05).abs() < 0.01, "{counts:?}");
    }

    #[test]
    fn with_nothing_to_aim_at_everything_is_a_send() {
        let mut book = Book::new();
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            assert_eq!(book.choose(&mut rng), Command::Send);
        }
    }

    #[test]
    fn a_deleted_message_is_not_aimed_at_again() {
        let mut book = Book::new();
        book.own.push_back(5);
        book.recent.push_back(5);
        book.reacted.push_back((5, 0));
        let mut rng = Rng::new(3);
        while book.choose(&mut rng) != (Command::Delete { id: 5 }) {
            // Kept for the delete to find.
            book.reacted.push_back((5, 0));
            book.recent.push_back(5);
        }
        assert!(book.own.is_empty() && book.recent.is_empty() && book.reacted.is_empty());
    }

    #[test]
    fn client_ids_name_their_command() {
        assert_eq!(seq_of("run-1-7-42", "run-1"), Some(42));
        assert_eq!(seq_of("other-7-42", "run-1"), None);
        assert_eq!(seq_of("run-1-7", "run-1"), None);
    }

    #[test]
    fn answers_are_matched_to_their_commands() {
        let mut book = Book::new();
        let window = Window {
            start_ns: 0,
            end_ns: u64::MAX,
        };
        book.pending.insert(0, (Action::Send, 10));
        book.pending.insert(1, (Action::React, 20));
        book.pending.insert(2, (Action::Unreact, 30));
        book.pending.insert(3, (Action::React, 40));
        book.on_ack(
            &frame(r#"{"type":"ack","id":9,"client_id":"x"}"#),
            Some(0),
            50,
            &window,
        );
        book.on_ack(
            &frame(r#"{"type":"ack","action":"react","id":9,"stream_id":11}"#),
            Some(1),
            60,
            &window,
        );
        book.on_ack(
            &frame(r#"{"type":"ack","action":"unreact","id":9}"#),
            Some(2),
            70,
            &window,
        );
        book.on_error(&frame(r#"{"type":"error","code":"not_found"}"#), Some(3));
        book.on_ack(&frame(r#"{"type":"ack","id":12}"#), Some(99), 80, &window);
        assert!(book.pending.is_empty());
        assert_eq!(book.own, [9]);
        assert_eq!(book.changes, [(11, 20)]);
        assert_eq!(book.last_acked, 11);
        assert_eq!((book.unchanged, book.stray), (1, 1));
        assert_eq!(
            book.errors
                .get(&("not_found".to_owned(), Some(Action::React))),
            Some(&1)
        );
        assert!(Action::React.expects("not_found"));
        assert!(!Action::Edit.expects("not_found"));
        assert!(!Action::React.expects("forbidden"));
    }
}
