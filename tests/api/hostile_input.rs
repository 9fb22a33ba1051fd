//! Small things a hostile (or broken) client tries, each answered with a
//! clear refusal and nothing stored.

use crate::helpers::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// A text frame whose payload is not UTF-8 (a client library would refuse
/// to build one, so it is built by hand).
fn invalid_utf8_text() -> Message {
    Message::Frame(Frame::message(
        vec![b'h', b'i', 0xff, 0xfe],
        OpCode::Data(Data::Text),
        true,
    ))
}

#[tokio::test]
async fn text_that_is_not_utf8_closes_with_1007_on_both_protocols() {
    let s = spawn().await;
    let token = s.user("garbler").await;
    let mut compat = s.compat("general", &token).await;
    next_text(&mut compat).await; // its own join line
    compat.send(invalid_utf8_text()).await.expect("sent");
    let close = next_close(&mut compat).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1007, "{close:?}");

    let mut v1 = s.v1("/ws/general", &token).await;
    next_of(&mut v1, "subscribed").await;
    v1.send(invalid_utf8_text()).await.expect("sent");
    let close = next_close(&mut v1).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1007, "{close:?}");

    let (_, history) = s.get_json("/rooms/general/messages", Some(&token)).await;
    assert_eq!(history["messages"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_message_of_invisible_characters_is_blank() {
    let s = spawn().await;
    let token = s.user("ghost").await;
    let invisible = "\u{200B}\u{FEFF}\u{2060} \u{200D}";

    let mut v1 = s.v1("/ws/general", &token).await;
    next_of(&mut v1, "subscribed").await;
    send_json(
        &mut v1,
        json!({"type": "send", "room": "general", "content": invisible, "client_id": "i-1"}),
    )
    .await;
    let refused = next_of(&mut v1, "error").await;
    assert_eq!(refused["code"], "empty_message", "{refused}");

    // The chapter's protocol ignores blank text, as it always has: the next
    // real message is the first thing anyone hears.
    let mut compat = s.compat("general", &token).await;
    assert_eq!(
        next_text(&mut compat).await,
        "User 'ghost' joined room 'general'."
    );
    send_text(&mut compat, invisible).await;
    send_text(&mut compat, "visible").await;
    assert_eq!(next_text(&mut compat).await, "[general] ghost: visible");

    let contents = s.contents("general", &token).await;
    assert_eq!(contents, ["visible"]);
}

#[tokio::test]
async fn a_topic_with_control_characters_is_refused() {
    let s = spawn().await;
    let token = s.user("topical").await;
    for topic in ["two\nlines", "bell\u{7}", "\u{1b}[31mred"] {
        let (status, body) = s
            .post_json(
                "/rooms",
                Some(&token),
                &json!({"name": "ctl", "topic": topic}),
            )
            .await;
        assert_eq!(status, 422, "{topic:?}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("control")),
            "{body}"
        );
    }
    let (status, _) = s
        .post_json(
            "/rooms",
            Some(&token),
            &json!({"name": "ctl", "topic": "one line"}),
        )
        .await;
    assert_eq!(status, 201);
}

/// PostgreSQL cannot store U+0000 in text, so a message holding one would
/// fail there (and mark the store as failing, and be resent forever as
/// `store_failed` asks): it is refused on every backend, before the store.
#[tokio::test]
async fn a_nul_character_is_refused_before_the_store() {
    let s = spawn().await;
    let token = s.user("nully").await;
    let mut v1 = s.v1("/ws/general", &token).await;
    next_of(&mut v1, "subscribed").await;
    for (content, client_id) in [("a\u{0}b", "n-1"), ("fine", "n\u{0}2")] {
        send_json(
            &mut v1,
            json!({"type": "send", "room": "general", "content": content, "client_id": client_id}),
        )
        .await;
        let refused = next_of(&mut v1, "error").await;
        assert_eq!(refused["code"], "bad_command", "{refused}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("NUL")),
            "{refused}"
        );
    }

    // The chapter's protocol cannot say no: it drops the frame, as it does
    // a blank one, and the next message is the first anyone hears.
    let mut compat = s.compat("general", &token).await;
    assert_eq!(
        next_text(&mut compat).await,
        "User 'nully' joined room 'general'."
    );
    send_text(&mut compat, "x\u{0}y").await;
    send_text(&mut compat, "after").await;
    assert_eq!(next_text(&mut compat).await, "[general] nully: after");

    assert_eq!(s.contents("general", &token).await, ["after"]);
    let (status, body) = s.get_json("/readyz", None).await;
    assert_eq!(status, 200, "{body}");
}
