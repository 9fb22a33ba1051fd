//! What a palaver.v1 client may send: one JSON object per text frame, named
//! by its `type`. Unknown fields are ignored so that the protocol can grow.
//! A refusal names the command's fields in our own words, never a parser's.

use super::frames::ErrorCode;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize, PartialEq)]
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
const USAGE: [(&str, &str); 7] = [
    ("hello", "\"hello\" takes capabilities: a list of strings"),
    (
        "subscribe",
        "\"subscribe\" needs room (a string) and takes since (a message id)",
    ),
    ("unsubscribe", "\"unsubscribe\" needs room (a string)"),
    (
        "send",
        "\"send\" needs room, content and client_id, all strings",
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
                client_id: "c".into()
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
