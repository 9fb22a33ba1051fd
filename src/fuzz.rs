//! What the `fuzz` property tests share (built for tests only).
//!
//! Every parser of untrusted bytes has a `fuzz` test module beside it. Its
//! properties run over inputs made here the way a coverage fuzzer makes
//! them: the seed files of its target in `fuzz/corpus/<target>/` as they
//! are, the seeds with bytes inserted, removed, changed or repeated, and
//! noise. Each module also replays its whole corpus, so that an input that
//! once broke something stays a test. `PROPTEST_CASES` says how many inputs
//! each property tries (proptest's 256 by default; `.ci/run` runs more), and
//! a failure proptest found is kept under `proptest-regressions/` and tried
//! first on every later run.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::path::PathBuf;

/// The seed files of one target, `(name, bytes)`, in name order.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    paths.sort();
    let seeds: Vec<(String, Vec<u8>)> = paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().expect("a name").to_string_lossy().into();
            (name, std::fs::read(&path).expect("a readable seed"))
        })
        .collect();
    assert!(!seeds.is_empty(), "{target}: an empty corpus tests nothing");
    seeds
}

/// Runs `check` on every seed of `target`; a failure names the seed.
pub fn replay(target: &str, check: impl Fn(&[u8]) -> Result<(), TestCaseError>) {
    for (name, bytes) in corpus(target) {
        if let Err(err) = check(&bytes) {
            panic!("fuzz/corpus/{target}/{name}: {err}");
        }
    }
}

/// Pieces that have broken parsers before: JSON's edges (escaped NUL and
/// lone surrogates, numbers past every integer type), bytes that are not
/// UTF-8 or are overlong, characters that print as nothing, and the
/// separators of the headers we read.
const NASTY: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    "\u{feff}".as_bytes(),
    "\u{200b}".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{e0001}".as_bytes(),
    "\u{a0}".as_bytes(),
    b"\\u0000",
    b"\\ud800",
    b"\\udfff",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"-9223372036854775809",
    b" ",
    b"\t",
    b"\r\n",
    b";",
    b"=",
    b".",
    b"bearer.",
    b"Bearer ",
    b"\"type\":\"send\"",
    b"\"ref\":",
    b"for=",
    b"[::1]",
    b"%00",
];

/// One change to a seed; positions are fractions of its length.
#[derive(Debug, Clone)]
pub enum Edit {
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Set(Index, u8),
    Repeat(Index, usize, usize),
    Truncate(Index),
}

/// A few changes of any kind, for `apply`.
pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    vec(edit(), 1..6)
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), select(NASTY).prop_map(<[u8]>::to_vec))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<Index>(), vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<Index>(), 1..16usize).prop_map(|(i, n)| Edit::Remove(i, n)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<Index>(), 1..32usize, 2..64usize).prop_map(|(i, n, k)| Edit::Repeat(i, n, k)),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// `bytes` with `edits` made, in order.
pub fn apply(mut bytes: Vec<u8>, edits: Vec<Edit>) -> Vec<u8> {
    for edit in edits {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        match edit {
            Edit::Insert(i, piece) => {
                let at = at(&i, bytes.len());
                bytes.splice(at..at, piece);
            }
            Edit::Remove(i, n) => {
                let from = at(&i, bytes.len()).min(bytes.len());
                let to = (from + n).min(bytes.len());
                bytes.drain(from..to);
            }
            Edit::Set(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] = b;
            }
            Edit::Set(..) => bytes.push(0),
            Edit::Repeat(i, n, times) => {
                let from = at(&i, bytes.len()).min(bytes.len());
                let to = (from + n).min(bytes.len());
                let piece = bytes[from..to].repeat(times);
                bytes.splice(to..to, piece);
            }
            Edit::Truncate(i) => {
                let at = at(&i, bytes.len()).min(bytes.len());
                bytes.truncate(at);
            }
        }
    }
    bytes
}

/// Hostile bytes for `target`: its seeds, its seeds mutated, and noise.
pub fn bytes(target: &str) -> BoxedStrategy<Vec<u8>> {
    let seeds: Vec<Vec<u8>> = corpus(target).into_iter().map(|(_, b)| b).collect();
    prop_oneof![
        2 => select(seeds.clone()),
        6 => (select(seeds), edits()).prop_map(|(seed, edits)| apply(seed, edits)),
        1 => vec(any::<u8>(), 0..64),
        1 => vec(select(NASTY), 0..16).prop_map(|pieces| pieces.concat()),
    ]
    .boxed()
}

/// Hostile text for `target` (frames and header values that got past the
/// transport's UTF-8 check): the same, made valid, and any string at all.
pub fn text(target: &str) -> BoxedStrategy<String> {
    prop_oneof![
        4 => bytes(target).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => chars(),
    ]
    .boxed()
}

/// Short strings of any characters (cheaper to make than `any::<String>()`,
/// which goes through a regular expression).
pub fn chars() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

/// Any JSON value, nested a few levels (numbers include floats and
/// integers past `i64`).
pub fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        chars().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(chars(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

mod tests {
    use super::*;

    #[test]
    fn fuzz_edits_stay_in_bounds() {
        proptest!(|(seed in vec(any::<u8>(), 0..32), edits in vec(edit(), 0..12))| {
            let _ = apply(seed, edits);
        });
    }

    #[test]
    fn every_target_has_seeds() {
        for target in [
            "v1_command",
            "chapter_text",
            "authorization",
            "subprotocol",
            "token",
            "forwarded",
            "origin",
            "names",
        ] {
            assert!(corpus(target).len() >= 10, "{target}");
        }
    }
}
