//! The black-box half of the `fuzz` property tests: generated hostile
//! frames (text from the same corpus, binary, text that is not UTF-8,
//! frames over the limit, and raw frames with any header bits) sent over
//! real sockets, v1 and the chapter's, to a real server. After each frame a
//! probe goes out. The server must answer the frame in its protocol's terms
//! and then the probe, or close with a documented code and a close frame —
//! never drop the connection without one — and afterwards still serve a
//! normal client. `PROPTEST_CASES` frames per protocol (256 by default).

use crate::fuzz;
use crate::helpers::*;
use futures_util::SinkExt;
use futures_util::StreamExt;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// Small, so that frames over the limit are small too.
const MAX_MESSAGE_BYTES: usize = 1024;
/// The transport's limit: the content's plus the v1 envelope (4 KiB).
const FRAME_LIMIT: usize = MAX_MESSAGE_BYTES + 4 * 1024;

/// The close codes docs/protocol.md lists for what a client sends.
const DOCUMENTED: [u16; 5] = [1002, 1003, 1007, 1008, 1009];

#[derive(Debug, Clone)]
enum Hostile {
    Text(String),
    Binary(Vec<u8>),
    /// A text frame whose payload is not UTF-8.
    NotUtf8(Vec<u8>),
    /// A text frame past the transport's limit.
    TooBig(usize),
    /// A frame as bytes on the wire: any flags, opcode, mask or length form.
    Raw {
        frame: Vec<u8>,
        text: Option<String>,
    },
    /// A header announcing a payload past the limit, and no payload.
    HugeLength(u64),
}

/// One frame's bytes: `rsv` the three reserved bits, `form` how its length
/// is written (7 bits, 16 or 64, longer forms than needed included).
fn raw(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8], form: u8) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 15)];
    let masked = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    match form {
        0 if len < 126 => out.push(masked | len as u8),
        0 | 1 if len <= usize::from(u16::MAX) => {
            out.push(masked | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(masked | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

fn raw_frame() -> impl Strategy<Value = Hostile> {
    // Every opcode but close (8): closing is not hostile.
    let opcode = select(vec![0u8, 1, 2, 3, 7, 9, 10, 11, 15]);
    let rsv = prop_oneof![3 => Just(0u8), 1 => 1..8u8];
    let payload = prop_oneof![
        fuzz::bytes("chapter_text").prop_map(|mut b| {
            b.truncate(300);
            b
        }),
        vec(any::<u8>(), 0..140),
    ];
    let mask = prop_oneof![4 => any::<[u8; 4]>().prop_map(Some), 1 => Just(None)];
    (any::<bool>(), rsv, opcode, mask, payload, 0..3u8).prop_map(
        |(fin, rsv, opcode, mask, payload, form)| {
            let text = (fin && rsv == 0 && opcode == 1 && mask.is_some())
                .then(|| String::from_utf8(payload.clone()).ok())
                .flatten();
            Hostile::Raw {
                frame: raw(fin, rsv, opcode, mask, &payload, form),
                text,
            }
        },
    )
}

fn hostile(target: &str) -> impl Strategy<Value = Hostile> {
    prop_oneof![
        12 => fuzz::text(target).prop_map(Hostile::Text),
        1 => vec(any::<u8>(), 0..64).prop_map(Hostile::Binary),
        1 => fuzz::bytes(target).prop_map(|mut b| {
            b.push(0xff);
            Hostile::NotUtf8(b)
        }),
        1 => (FRAME_LIMIT + 1..FRAME_LIMIT * 2).prop_map(Hostile::TooBig),
        1 => (FRAME_LIMIT as u64 + 1..=u64::MAX).prop_map(Hostile::HugeLength),
        4 => raw_frame(),
    ]
}

/// `PROPTEST_CASES` frames, from a seed of this run (printed with a failure).
fn frames(target: &str) -> Vec<Hostile> {
    // Enough that both answers, served and closed, surely occur.
    let cases = (Config::default().cases as usize).max(64);
    let mut runner = TestRunner::new(Config::default());
    let strategy = hostile(target);
    (0..cases)
        .map(|_| strategy.new_tree(&mut runner).expect("a frame").current())
        .collect()
}

/// Sends one hostile frame. A send may fail when the server has already
/// closed; what it answered is read next.
async fn send(ws: &mut Ws, frame: &Hostile) {
    let _ = match frame {
        Hostile::Text(text) => ws.send(Message::Text(text.as_str().into())).await,
        Hostile::Binary(bytes) => ws.send(Message::Binary(bytes.clone().into())).await,
        Hostile::NotUtf8(bytes) => {
            let frame = Frame::message(bytes.clone(), OpCode::Data(Data::Text), true);
            ws.send(Message::Frame(frame)).await
        }
        Hostile::TooBig(len) => ws.send(Message::Text("x".repeat(*len).into())).await,
        Hostile::Raw { frame, .. } => write_raw(ws, frame).await,
        Hostile::HugeLength(len) => {
            let mut header = vec![0x81, 0x80 | 127];
            header.extend_from_slice(&len.to_be_bytes());
            header.extend_from_slice(&[1, 2, 3, 4]);
            write_raw(ws, &header).await
        }
    };
}

async fn write_raw(ws: &mut Ws, bytes: &[u8]) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    match ws.get_mut() {
        MaybeTlsStream::Plain(tcp) => Ok(tcp.write_all(bytes).await?),
        _ => unreachable!("the tests speak plain TCP"),
    }
}

/// What came back after a frame and its probe.
enum Answer {
    /// The texts that came before the probe's answer.
    Served(Vec<String>),
    Closed(u16),
}

async fn answer(ws: &mut Ws, is_probe: impl Fn(&str) -> bool, frame: &Hostile) -> Answer {
    let mut before = Vec::new();
    loop {
        let next = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no answer within {PATIENCE:?} after {frame:?}"));
        match next {
            Some(Ok(Message::Text(text))) if is_probe(&text) => return Answer::Served(before),
            Some(Ok(Message::Text(text))) => before.push(text.to_string()),
            Some(Ok(Message::Close(Some(close)))) => return Answer::Closed(close.code.into()),
            Some(Ok(Message::Close(None))) => panic!("a close without a code after {frame:?}"),
            Some(Ok(_)) => {} // pings, pongs
            Some(Err(err)) => {
                panic!("the connection broke without a close frame after {frame:?}: {err}")
            }
            None => panic!("the connection ended without a close frame after {frame:?}"),
        }
    }
}

/// The event types of palaver.v1 (docs/protocol.md).
const EVENTS: [&str; 13] = [
    "hello",
    "subscribed",
    "unsubscribed",
    "message",
    "ack",
    "joined",
    "left",
    "typing",
    "presence",
    "pong",
    "auth_expiring",
    "authenticated",
    "error",
];
const CODES: [&str; 10] = [
    "bad_json",
    "unknown_command",
    "bad_command",
    "unknown_room",
    "not_subscribed",
    "too_large",
    "empty_message",
    "rate_limited",
    "store_failed",
    "auth_failed",
];
const COMMANDS: [&str; 7] = [
    "hello",
    "subscribe",
    "unsubscribe",
    "send",
    "typing",
    "ping",
    "auth",
];

/// The error code a frame must get, by its shape alone, if any.
fn refusal_for(text: &str) -> Option<&'static str> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(fields)) => {
            let known = fields
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| COMMANDS.contains(&t));
            (!known).then_some("unknown_command")
        }
        _ => Some("bad_json"),
    }
}

async fn spawn_for_fuzzing() -> TestServer {
    spawn_with(|c| {
        c.max_message_bytes = MAX_MESSAGE_BYTES;
        // Every frame gets its answer: no budget drops or delays one.
        c.rate_limit = 0;
        c.replay_rate = 0;
        c.max_connections_per_user = 0;
        c.max_connections_per_address = 0;
        // The chapter's join line waits for the tick; reconnects are many.
        c.presence_tick = std::time::Duration::from_millis(5);
    })
    .await
}

#[tokio::test]
async fn fuzz_hostile_frames_on_v1_are_answered_or_closed_with_a_documented_code() {
    let s = spawn_for_fuzzing().await;
    let token = s.user("fuzzer").await;
    let connect = || async {
        let mut ws = s.v1("/ws/general", &token).await;
        next_of(&mut ws, "subscribed").await;
        ws
    };
    let mut ws = connect().await;
    let (mut served, mut closed) = (0, 0);
    for (n, frame) in frames("v1_command").iter().enumerate() {
        send(&mut ws, frame).await;
        let probe = format!("probe-{n}");
        let _ = ws
            .send(Message::Text(
                json!({"type": "ping", "ref": probe}).to_string().into(),
            ))
            .await;
        let is_probe = |text: &str| {
            serde_json::from_str::<Value>(text)
                .is_ok_and(|v| v["type"] == "pong" && v["ref"] == probe)
        };
        match answer(&mut ws, is_probe, frame).await {
            Answer::Served(before) => {
                served += 1;
                let events: Vec<Value> = before
                    .iter()
                    .map(|t| {
                        serde_json::from_str(t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
                    })
                    .collect();
                for event in &events {
                    let kind = event["type"].as_str().unwrap_or_default();
                    assert!(EVENTS.contains(&kind), "{event} after {frame:?}");
                    if kind == "error" {
                        let code = event["code"].as_str().unwrap_or_default();
                        assert!(CODES.contains(&code), "{event} after {frame:?}");
                        let message = event["message"].as_str().unwrap_or_default();
                        assert!(!message.is_empty(), "{event} after {frame:?}");
                    }
                }
                if let Hostile::Text(text) = frame
                    && let Some(code) = refusal_for(text)
                {
                    assert!(
                        events
                            .iter()
                            .any(|e| e["type"] == "error" && e["code"] == code),
                        "no {code} for {frame:?}: {events:?}"
                    );
                }
            }
            Answer::Closed(code) => {
                closed += 1;
                assert!(
                    DOCUMENTED.contains(&code),
                    "closed with {code} after {frame:?}"
                );
                ws = connect().await;
            }
        }
    }
    assert!(served > 0 && closed > 0, "{served} served, {closed} closed");

    // And a normal client is served as ever.
    let mut ws = connect().await;
    send_json(
        &mut ws,
        json!({"type": "send", "room": "general", "content": "still here", "client_id": "after"}),
    )
    .await;
    assert_eq!(next_of(&mut ws, "ack").await["client_id"], "after");
    let contents = s.contents("general", &token).await;
    assert_eq!(contents.last().map(String::as_str), Some("still here"));
}

#[tokio::test]
async fn fuzz_hostile_frames_on_the_chapters_socket_are_echoed_dropped_or_closed() {
    let s = spawn_for_fuzzing().await;
    let token = s.user("fuzzer").await;
    let connect = || async {
        let mut ws = s.compat("general", &token).await;
        assert_eq!(
            next_text(&mut ws).await,
            "User 'fuzzer' joined room 'general'."
        );
        ws
    };
    let echo = |text: &str| format!("[general] fuzzer: {text}");
    let mut ws = connect().await;
    let (mut served, mut closed) = (0, 0);
    for (n, frame) in frames("chapter_text").iter().enumerate() {
        send(&mut ws, frame).await;
        let probe = echo(&format!("probe-{n}"));
        let _ = ws.send(Message::Text(format!("probe-{n}").into())).await;
        match answer(&mut ws, |text| text == probe, frame).await {
            Answer::Served(mut before) => {
                served += 1;
                // A closed connection of ours may leave after the new one came.
                before.retain(|line| !line.starts_with("User 'fuzzer' "));
                let sent = match frame {
                    Hostile::Text(text) => Some(text.as_str()),
                    Hostile::Raw { text, .. } => text.as_deref(),
                    _ => None,
                };
                // Only the frame's own line may come before the probe's.
                let expected: Vec<String> = sent.map(echo).into_iter().collect();
                assert!(
                    before.len() <= 1 && before.iter().all(|b| expected.contains(b)),
                    "{before:?} after {frame:?}"
                );
                // Text with a letter in it (and no NUL) is shown.
                let shows = sent.is_some_and(|t| {
                    t.bytes().any(|b| b.is_ascii_alphanumeric())
                        && !t.contains('\0')
                        && t.len() <= MAX_MESSAGE_BYTES
                });
                if shows {
                    assert_eq!(before, expected, "after {frame:?}");
                }
            }
            Answer::Closed(code) => {
                closed += 1;
                assert!(
                    DOCUMENTED.contains(&code),
                    "closed with {code} after {frame:?}"
                );
                ws = connect().await;
            }
        }
    }
    assert!(served > 0 && closed > 0, "{served} served, {closed} closed");

    let mut ws = connect().await;
    send_text(&mut ws, "still here").await;
    assert_eq!(next_text(&mut ws).await, echo("still here"));
}
