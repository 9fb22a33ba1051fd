//! What a palaver.v1 client may send: one JSON object per text frame, named
//! by its `type`. Unknown fields are ignored so that the protocol can grow.
//! A refusal names the command's fields in our own words, never a parser's.

use super::frames::ErrorCode;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize, PartialEq)]
#[cfg_attr(test, derive(Clone))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Capabilities the client would like; the answer lists those it gets.
    Hello {
        #[serde(default)]
        capabilities: Vec<String>,
    },
    Subscribe {
        room: String,
        since: Option<i64>,
    },
    Unsubscribe {
        room: String,
    },
    Send {
        room: String,
        content: String,
        client_id: String,
        /// The id of the message of the same room this one answers.
        reply_to: Option<i64>,
    },
    /// A new text for one's own message.
    Edit {
        room: String,
        id: i64,
        content: String,
        client_id: Option<String>,
    },
    Delete {
        room: String,
        id: i64,
        client_id: Option<String>,
    },
    React {
        room: String,
        id: i64,
        emoji: String,
        client_id: Option<String>,
    },
    Unreact {
        room: String,
        id: i64,
        emoji: String,
        client_id: Option<String>,
    },
    Typing {
        room: String,
    },
    Ping,
    /// A fresh access token for this connection's session, so that it
    /// outlives the token it was opened with.
    Auth {
        token: String,
    },
}

/// Each command and what its fields must be, for the refusal of a bad one.
const USAGE: [(&str, &str); 11] = [
    ("hello", "\"hello\" takes capabilities: a list of strings"),
    (
        "subscribe",
        "\"subscribe\" needs room (a string) and takes since (a message id)",
    ),
    ("unsubscribe", "\"unsubscribe\" needs room (a string)"),
    (
        "send",
        "\"send\" needs room, content and client_id, all strings, and takes reply_to (a message id)",
    ),
    (
        "edit",
        "\"edit\" needs room and content (strings) and id (a message id), and takes client_id",
    ),
    (
        "delete",
        "\"delete\" needs room (a string) and id (a message id), and takes client_id",
    ),
    (
        "react",
        "\"react\" needs room and emoji (strings) and id (a message id), and takes client_id",
    ),
    (
        "unreact",
        "\"unreact\" needs room and emoji (strings) and id (a message id), and takes client_id",
    ),
    ("typing", "\"typing\" needs room (a string)"),
    ("ping", "\"ping\" takes no fields"),
    ("auth", "\"auth\" needs token (a string)"),
];

/// Why a frame is not a command.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: &'static str,
}

/// A frame's command and its `ref` (echoed on the reply), or why it is not
/// one (with the `ref`, if it could be read).
pub fn decode(text: &str) -> (Option<Value>, Result<Command, Refusal>) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let refusal = Refusal {
                code: ErrorCode::BadJson,
                message: "frame is not a JSON object",
            };
            return (None, Err(refusal));
        }
    };
    let reference = value.get("ref").cloned();
    let usage = value
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| USAGE.iter().find(|(name, _)| *name == t))
        .map(|(_, usage)| *usage);
    let Some(usage) = usage else {
        let refusal = Refusal {
            code: ErrorCode::UnknownCommand,
            message: "unknown or missing \"type\"",
        };
        return (reference, Err(refusal));
    };
    let command = serde_json::from_value(value).map_err(|_| Refusal {
        code: ErrorCode::BadCommand,
        message: usage,
    });
    (reference, command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_decode_with_their_ref() {
        let (reference, command) = decode(
            r#"{"type":"send","room":"r","content":"hi","client_id":"c","ref":7,"extra":1}"#,
        );
        assert_eq!(reference, Some(json!(7)));
        assert_eq!(
            command,
            Ok(Command::Send {
                room: "r".into(),
                content: "hi".into(),
                client_id: "c".into(),
                reply_to: None,
            })
        );
        let (_, hello) = decode(r#"{"type":"hello"}"#);
        assert_eq!(
            hello,
            Ok(Command::Hello {
                capabilities: vec![]
            })
        );
    }

    #[test]
    fn refusals_use_our_words_not_the_parsers() {
        let (reference, bad) = decode(r#"{"type":"send","room":5,"ref":"x"}"#);
        assert_eq!(reference, Some(json!("x")));
        let bad = bad.expect_err("refused");
        assert_eq!(bad.code, ErrorCode::BadCommand);
        assert!(
            bad.message.contains("client_id") && !bad.message.contains("line"),
            "{}",
            bad.message
        );
        assert_eq!(decode("[1]").1.map_err(|r| r.code), Err(ErrorCode::BadJson));
        assert_eq!(
            decode("{\"type\":\"fly\"}").1.map_err(|r| r.code),
            Err(ErrorCode::UnknownCommand)
        );
    }

    #[test]
    fn every_command_has_a_usage() {
        for (name, usage) in USAGE {
            assert!(usage.starts_with(&format!("\"{name}\"")));
        }
        assert_eq!(decode(r#"{"type":"ping"}"#).1, Ok(Command::Ping));
    }
}

/// Properties of `decode` over hostile frames (inputs: `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::super::frames::ServerFrame;
    use super::*;
    use crate::fuzz;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;
    use proptest::sample::select;
    use serde_json::{Map, json};

    /// A refusal is one of ours: a message of this module, under its code.
    fn is_ours(refusal: &Refusal) -> bool {
        match refusal.code {
            ErrorCode::BadJson => refusal.message == "frame is not a JSON object",
            ErrorCode::UnknownCommand => refusal.message == "unknown or missing \"type\"",
            ErrorCode::BadCommand => USAGE.iter().any(|(_, usage)| *usage == refusal.message),
            _ => false,
        }
    }

    /// A command's fields, `type` included, as a client writes them.
    fn fields(command: &Command) -> Map<String, Value> {
        let value = match command {
            Command::Hello { capabilities } => {
                json!({"type": "hello", "capabilities": capabilities})
            }
            Command::Subscribe { room, since } => {
                json!({"type": "subscribe", "room": room, "since": since})
            }
            Command::Unsubscribe { room } => json!({"type": "unsubscribe", "room": room}),
            Command::Send {
                room,
                content,
                client_id,
                reply_to,
            } => {
                json!({"type": "send", "room": room, "content": content, "client_id": client_id, "reply_to": reply_to})
            }
            Command::Edit {
                room,
                id,
                content,
                client_id,
            } => {
                json!({"type": "edit", "room": room, "id": id, "content": content, "client_id": client_id})
            }
            Command::Delete {
                room,
                id,
                client_id,
            } => json!({"type": "delete", "room": room, "id": id, "client_id": client_id}),
            Command::React {
                room,
                id,
                emoji,
                client_id,
            } => {
                json!({"type": "react", "room": room, "id": id, "emoji": emoji, "client_id": client_id})
            }
            Command::Unreact {
                room,
                id,
                emoji,
                client_id,
            } => {
                json!({"type": "unreact", "room": room, "id": id, "emoji": emoji, "client_id": client_id})
            }
            Command::Typing { room } => json!({"type": "typing", "room": room}),
            Command::Ping => json!({"type": "ping"}),
            Command::Auth { token } => json!({"type": "auth", "token": token}),
        };
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    /// Whether `command` is what the object `sent` says, field for field
    /// (an absent optional field is none, absent `capabilities` are none).
    fn is_what_was_sent(command: &Command, sent: &Map<String, Value>) -> bool {
        fields(command).iter().all(|(name, value)| {
            let got = sent.get(name);
            match (name.as_str(), value) {
                (_, Value::Null) => got.is_none_or(Value::is_null),
                ("capabilities", Value::Array(none)) if none.is_empty() => {
                    got.is_none() || got == Some(value)
                }
                _ => got == Some(value),
            }
        })
    }

    /// What holds for every frame, whatever its bytes: it is refused in our
    /// words, under the code its shape deserves, with the `ref` it carried;
    /// or it is accepted as exactly the command it spells.
    fn check(text: &str) -> Result<(), TestCaseError> {
        let (reference, command) = decode(text);
        if let Err(refusal) = &command {
            prop_assert!(is_ours(refusal), "not our words: {refusal:?}");
        }
        let Ok(Value::Object(sent)) = serde_json::from_str::<Value>(text) else {
            prop_assert_eq!(reference, None);
            prop_assert_eq!(command.map_err(|r| r.code), Err(ErrorCode::BadJson));
            return Ok(());
        };
        prop_assert_eq!(reference.as_ref(), sent.get("ref"));
        let usage = USAGE
            .iter()
            .find(|(name, _)| sent.get("type").and_then(Value::as_str) == Some(*name));
        match (usage, command) {
            (None, command) => {
                prop_assert_eq!(command.map_err(|r| r.code), Err(ErrorCode::UnknownCommand));
            }
            (Some((name, _)), Ok(command)) => {
                let spelled = fields(&command);
                prop_assert_eq!(spelled["type"].as_str(), Some(*name));
                prop_assert!(is_what_was_sent(&command, &sent), "{command:?} from {text}");
            }
            (Some((_, usage)), Err(refusal)) => {
                prop_assert_eq!(refusal.code, ErrorCode::BadCommand);
                prop_assert_eq!(refusal.message, *usage);
            }
        }
        Ok(())
    }

    fn command() -> impl Strategy<Value = Command> {
        let text = fuzz::chars;
        prop_oneof![
            vec(text(), 0..4).prop_map(|capabilities| Command::Hello { capabilities }),
            (text(), any::<Option<i64>>())
                .prop_map(|(room, since)| Command::Subscribe { room, since }),
            text().prop_map(|room| Command::Unsubscribe { room }),
            (text(), text(), text(), any::<Option<i64>>()).prop_map(
                |(room, content, client_id, reply_to)| Command::Send {
                    room,
                    content,
                    client_id,
                    reply_to,
                }
            ),
            (text(), any::<i64>(), text(), proptest::option::of(text())).prop_map(
                |(room, id, content, client_id)| Command::Edit {
                    room,
                    id,
                    content,
                    client_id,
                }
            ),
            (text(), any::<i64>(), proptest::option::of(text())).prop_map(
                |(room, id, client_id)| Command::Delete {
                    room,
                    id,
                    client_id,
                }
            ),
            (text(), any::<i64>(), text(), proptest::option::of(text())).prop_map(
                |(room, id, emoji, client_id)| Command::React {
                    room,
                    id,
                    emoji,
                    client_id,
                }
            ),
            (text(), any::<i64>(), text(), proptest::option::of(text())).prop_map(
                |(room, id, emoji, client_id)| Command::Unreact {
                    room,
                    id,
                    emoji,
                    client_id,
                }
            ),
            text().prop_map(|room| Command::Typing { room }),
            Just(Command::Ping),
            text().prop_map(|token| Command::Auth { token }),
        ]
    }

    /// Field names clients might add (the protocol grows), some of them
    /// other commands' fields.
    fn extra_name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_]{1,10}",
            select(vec![
                "room",
                "since",
                "content",
                "client_id",
                "capabilities",
                "token",
                "id",
                "emoji",
                "reply_to"
            ])
            .prop_map(str::to_owned),
        ]
    }

    /// The text of an object with these fields, in the given order (each
    /// field's rank), with white space between the tokens.
    fn write(fields: Vec<(String, Value)>, ranks: &[u16], pad: &str) -> String {
        let mut ranked: Vec<_> = fields
            .into_iter()
            .enumerate()
            .map(|(i, field)| (ranks.get(i).copied().unwrap_or_default(), field))
            .collect();
        ranked.sort_by_key(|(rank, _)| *rank);
        let body: Vec<String> = ranked
            .iter()
            .map(|(_, (name, value))| format!("{}{pad}:{pad}{value}", Value::from(name.as_str())))
            .collect();
        format!(
            "{pad}{{{pad}{}{pad}}}{pad}",
            body.join(&format!("{pad},{pad}"))
        )
    }

    /// A command as a client may write it: any order, any white space, a
    /// `ref` or none, fields this server does not know, defaults left out.
    fn written() -> impl Strategy<Value = (Command, Option<Value>, String)> {
        (
            command(),
            proptest::option::of(fuzz::json()),
            btree_map(extra_name(), fuzz::json(), 0..4),
            vec(any::<u16>(), 16),
            any::<bool>(),
            select(vec!["", " ", "\n", "\t", "\r\n  "]),
        )
            .prop_map(|(command, reference, extra, ranks, omit_defaults, pad)| {
                let mut sent = fields(&command);
                let extra: Vec<_> = extra
                    .into_iter()
                    .filter(|(name, _)| !sent.contains_key(name) && name != "ref")
                    .collect();
                if omit_defaults {
                    sent.retain(|_, value| !value.is_null());
                    if sent.get("capabilities") == Some(&json!([])) {
                        sent.remove("capabilities");
                    }
                }
                sent.extend(extra);
                if let Some(reference) = &reference {
                    sent.insert("ref".into(), reference.clone());
                }
                let text = write(sent.into_iter().collect(), &ranks, pad);
                (command, reference, text)
            })
    }

    /// A value of another type than the field's.
    fn wrong_for(field: &str) -> BoxedStrategy<Value> {
        let not_a_string = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            vec(fuzz::chars(), 0..3).prop_map(Value::from),
            Just(json!({})),
        ];
        match field {
            "since" | "id" | "reply_to" => prop_oneof![
                fuzz::chars().prop_map(Value::from),
                (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::from),
                (-1e15..1e15f64)
                    .prop_filter("not whole", |f| f.fract() != 0.0)
                    .prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
                Just(json!([1])),
            ]
            .boxed(),
            "capabilities" => prop_oneof![
                fuzz::chars().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                Just(Value::Null),
                vec(any::<i64>(), 1..3).prop_map(Value::from),
                Just(json!([["nested"]])),
            ]
            .boxed(),
            _ => not_a_string.boxed(),
        }
    }

    proptest! {
        #[test]
        fn any_frame_is_a_command_or_our_refusal(text in fuzz::text("v1_command")) {
            check(&text)?;
        }

        #[test]
        fn objects_of_any_type_with_any_fields(
            kind in prop_oneof![
                select(USAGE.iter().map(|(name, _)| Value::from(*name)).collect::<Vec<_>>()),
                fuzz::json(),
            ],
            sent in btree_map(extra_name(), fuzz::json(), 0..5),
            reference in proptest::option::of(fuzz::json()),
        ) {
            let mut sent: Map<String, Value> = sent.into_iter().collect();
            sent.insert("type".into(), kind);
            if let Some(reference) = reference {
                sent.insert("ref".into(), reference);
            }
            check(&Value::Object(sent).to_string())?;
        }

        #[test]
        fn commands_as_written_decode_exactly((command, reference, text) in written()) {
            let (got_ref, got) = decode(&text);
            prop_assert_eq!(got_ref, reference);
            prop_assert_eq!(got, Ok(command));
        }

        #[test]
        fn a_field_of_the_wrong_type_or_missing_is_refused_with_its_usage(
            (command, field, wrong) in command()
                .prop_filter("has fields", |c| !matches!(c, Command::Ping))
                .prop_flat_map(|command| {
                    let names: Vec<String> =
                        fields(&command).keys().filter(|k| *k != "type").cloned().collect();
                    (Just(command), select(names))
                })
                .prop_flat_map(|(command, field)| {
                    let wrong = proptest::option::of(wrong_for(&field));
                    (Just(command), Just(field), wrong)
                }),
        ) {
            let mut sent = fields(&command);
            let optional = matches!(field.as_str(), "since" | "capabilities" | "reply_to")
                || (field == "client_id" && !matches!(command, Command::Send { .. }));
            match wrong {
                Some(value) if !(optional && value.is_null() && field != "capabilities") => {
                    sent.insert(field, value);
                }
                _ if optional => return Ok(()),
                _ => {
                    sent.remove(&field);
                }
            }
            let name = sent["type"].as_str().unwrap_or_default().to_owned();
            let (_, got) = decode(&Value::Object(sent).to_string());
            let refusal = got.expect_err("refused");
            prop_assert_eq!(refusal.code, ErrorCode::BadCommand);
            let usage = USAGE.iter().find(|(n, _)| *n == name).map(|(_, u)| *u);
            prop_assert_eq!(Some(refusal.message), usage);
        }

        /// The `ref` comes back as the value that was sent, in any reply.
        #[test]
        fn replies_echo_the_ref(reference in fuzz::json()) {
            let text = json!({"type": "ping", "ref": reference}).to_string();
            let (got, command) = decode(&text);
            prop_assert_eq!(command, Ok(Command::Ping));
            let reply: Value = serde_json::from_str(&ServerFrame::Pong.reply(got.as_ref()))
                .expect("a reply is JSON");
            prop_assert_eq!(&reply["type"], "pong");
            prop_assert_eq!(&reply["ref"], &reference);
        }
    }

    #[test]
    fn corpus() {
        fuzz::replay("v1_command", |bytes| check(&String::from_utf8_lossy(bytes)));
    }
}
