//! Changes to messages (edits, deletions, reactions) and replies, against a
//! real database: SQLite always, PostgreSQL too when
//! `PALAVER_TEST_DATABASE_URL` names one.

use super::membership_tests::{backends, room, user};
use super::{Appended, MAX_EMOJI, NewChange, NewMessage, Page, Refusal, Store};
use crate::model::{ChangeKind, Entry, Room, StoredMessage, Timestamp, User, Visibility};
use std::sync::Arc;

on_every_backend!(
    changes_take_their_place_in_the_stream,
    edits_follow_their_rules,
    a_deletion_erases_the_text_and_what_hung_on_it,
    reactions_are_one_per_user_and_emoji,
    replies_must_answer_a_message_of_the_room,
);

fn entry(room: &Room, author: &User, content: &str) -> NewMessage {
    NewMessage {
        room_id: room.id,
        room: room.name.clone(),
        author: author.clone(),
        content: content.to_owned(),
        created_at: Timestamp::now(),
        client_id: None,
        reply_to: None,
        change: None,
    }
}

fn change(room: &Room, author: &User, content: &str, change: NewChange) -> NewMessage {
    NewMessage {
        change: Some(change),
        ..entry(room, author, content)
    }
}

fn delete(target: i64, any_author: bool) -> NewChange {
    NewChange::Delete { target, any_author }
}

fn edit(target: i64) -> NewChange {
    NewChange::Edit {
        target,
        not_before: None,
        keep_history: true,
    }
}

async fn append(store: &Arc<dyn Store>, batch: &[NewMessage]) -> Vec<Appended> {
    store.append(batch).await.expect("append")
}

fn stored(appended: &Appended) -> &StoredMessage {
    match appended {
        Appended::New(m) => m,
        other => panic!("not stored: {other:?}"),
    }
}

async fn stream(store: &Arc<dyn Store>, room: &Room) -> Vec<StoredMessage> {
    store
        .messages(room.id, Page::Seqs { from: 1, to: 1000 })
        .await
        .expect("stream")
}

async fn changes_take_their_place_in_the_stream(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    let r = room(&store, "r", Visibility::Public, None).await;
    let first = append(&store, &[entry(&r, &ann, "one")]).await;
    let one = stored(&first[0]).id;
    // In one batch: a change to a message of an earlier batch, a refused
    // change (not bob's), a message, and a change to that message.
    let second = append(
        &store,
        &[
            change(&r, &ann, "one!", edit(one)),
            change(&r, &bob, "mine now", edit(one)),
            entry(&r, &bob, "two"),
        ],
    )
    .await;
    assert!(
        matches!(second[1], Appended::Refused(Refusal::NotAuthor)),
        "{backend}"
    );
    let two = stored(&second[2]).id;
    let third = append(
        &store,
        &[change(
            &r,
            &ann,
            "👍",
            NewChange::React {
                target: two,
                added: true,
            },
        )],
    )
    .await;
    let seqs: Vec<i64> = stream(&store, &r).await.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4], "{backend}: no gap for the refusal");
    let read = stream(&store, &r).await;
    assert_eq!(read[1].entry, stored(&second[0]).entry, "{backend}");
    assert_eq!(
        read[1].content, "one!",
        "{backend}: an edit reads the text now"
    );
    assert_eq!(read[3].entry, stored(&third[0]).entry, "{backend}");
    // History pages hold messages only.
    let page = store
        .messages(r.id, Page::After { id: 0, limit: 10 })
        .await
        .expect("page");
    let ids: Vec<i64> = page.iter().map(|m| m.id).collect();
    assert_eq!(ids, [one, two], "{backend}");
    assert_eq!(page[0].content, "one!", "{backend}");
}

async fn edits_follow_their_rules(store: Arc<dyn Store>, backend: &str) {
    let ann = user(&store, "ann").await;
    let r = room(&store, "r", Visibility::Public, None).await;
    let other = room(&store, "other", Visibility::Public, None).await;
    let sent = append(&store, &[entry(&r, &ann, "v1")]).await;
    let id = stored(&sent[0]).id;
    let later = Timestamp(Timestamp::now().0 + 1_000_000);
    let outcomes = append(
        &store,
        &[
            change(&r, &ann, "v1", edit(id)),
            change(
                &r,
                &ann,
                "late",
                NewChange::Edit {
                    target: id,
                    not_before: Some(later),
                    keep_history: true,
                },
            ),
            change(&other, &ann, "elsewhere", edit(id)),
            change(&r, &ann, "v2", edit(id)),
            change(&r, &ann, "v3", edit(id)),
        ],
    )
    .await;
    assert!(
        matches!(outcomes[0], Appended::Unchanged { .. }),
        "{backend}"
    );
    assert!(
        matches!(outcomes[1], Appended::Refused(Refusal::TooLate)),
        "{backend}"
    );
    assert!(
        matches!(outcomes[2], Appended::Refused(Refusal::NotFound)),
        "{backend}"
    );
    let change_id = stored(&outcomes[3]).id;
    let versions: Vec<String> = store
        .versions(id)
        .await
        .expect("versions")
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    assert_eq!(versions, ["v1", "v2"], "{backend}");
    // A change is not a message to change.
    let again = append(&store, &[change(&r, &ann, "x", edit(change_id))]).await;
    assert!(
        matches!(again[0], Appended::Refused(Refusal::NotFound)),
        "{backend}"
    );
    // Without history, the texts replaced are not kept.
    let forget = NewChange::Edit {
        target: id,
        not_before: None,
        keep_history: false,
    };
    append(&store, &[change(&r, &ann, "v4", forget)]).await;
    assert!(
        store.versions(id).await.expect("versions").is_empty(),
        "{backend}"
    );
    let now = store.message(r.id, id).await.expect("read").expect("there");
    assert_eq!(now.content, "v4", "{backend}");
}

async fn a_deletion_erases_the_text_and_what_hung_on_it(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob, mo) = (
        user(&store, "ann").await,
        user(&store, "bob").await,
        user(&store, "moe").await,
    );
    let r = room(&store, "r", Visibility::Public, None).await;
    let sent = append(&store, &[entry(&r, &ann, "secret one")]).await;
    let id = stored(&sent[0]).id;
    let react = NewChange::React {
        target: id,
        added: true,
    };
    append(
        &store,
        &[
            change(&r, &ann, "secret two", edit(id)),
            change(&r, &bob, "👍", react),
        ],
    )
    .await;
    let refused = append(&store, &[change(&r, &bob, "", delete(id, false))]).await;
    assert!(
        matches!(refused[0], Appended::Refused(Refusal::NotAuthor)),
        "{backend}"
    );
    let deleted = append(&store, &[change(&r, &mo, "", delete(id, true))]).await;
    assert!(
        matches!(stored(&deleted[0]).entry, Entry::Change(ref c) if c.kind == ChangeKind::Delete)
    );
    for m in stream(&store, &r).await {
        assert!(
            !m.content.contains("secret"),
            "{backend}: {m:?} keeps the text"
        );
    }
    assert!(
        store.versions(id).await.expect("versions").is_empty(),
        "{backend}"
    );
    assert!(
        store
            .reactions(&[id], bob.id)
            .await
            .expect("reactions")
            .is_empty(),
        "{backend}"
    );
    let tomb = store
        .message(r.id, id)
        .await
        .expect("read")
        .expect("a tombstone");
    match &tomb.entry {
        Entry::Message(Some(state)) => {
            assert_eq!(
                state.deleted.as_ref().and_then(|d| d.by.as_deref()),
                Some("moe")
            );
        }
        other => panic!("{backend}: not a tombstone: {other:?}"),
    }
    let twice = append(&store, &[change(&r, &ann, "", delete(id, false))]).await;
    assert!(
        matches!(twice[0], Appended::Refused(Refusal::NotFound)),
        "{backend}"
    );
    // The chapter's history leaves it out.
    let chapter = store
        .messages(r.id, Page::NewestFirst { skip: 0, limit: 10 })
        .await
        .expect("history");
    assert!(chapter.is_empty(), "{backend}");
}

async fn reactions_are_one_per_user_and_emoji(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    let r = room(&store, "r", Visibility::Public, None).await;
    let sent = append(&store, &[entry(&r, &ann, "hi")]).await;
    let id = stored(&sent[0]).id;
    let react = |who: &User, emoji: &str, added| {
        change(&r, who, emoji, NewChange::React { target: id, added })
    };
    let outcomes = append(
        &store,
        &[
            react(&ann, "👍", true),
            react(&ann, "👍", true),
            react(&bob, "👍", true),
            react(&bob, "🎉", false),
            react(&ann, "👍", false),
        ],
    )
    .await;
    let counts: Vec<Option<i64>> = outcomes
        .iter()
        .map(|o| match o {
            Appended::New(m) => match &m.entry {
                Entry::Change(c) => match c.kind {
                    ChangeKind::Reaction { count, .. } => Some(count),
                    _ => None,
                },
                Entry::Message(_) => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(counts, [Some(1), None, Some(2), None, Some(1)], "{backend}");
    assert!(
        matches!(outcomes[1], Appended::Unchanged { count: 1 }),
        "{backend}"
    );
    let seen = store.reactions(&[id], bob.id).await.expect("reactions");
    assert_eq!(seen.len(), 1, "{backend}");
    assert_eq!((seen[0].1.count, seen[0].1.me), (1, true), "{backend}");
    let by_ann = store.reactions(&[id], ann.id).await.expect("reactions");
    assert!(!by_ann[0].1.me, "{backend}");
    // A message takes only so many different emoji.
    let many: Vec<NewMessage> = (0..MAX_EMOJI)
        .map(|i| react(&ann, &format!(":e{i}:"), true))
        .collect();
    let outcomes = append(&store, &many).await;
    assert!(
        matches!(
            outcomes.last(),
            Some(Appended::Refused(Refusal::TooManyReactions))
        ),
        "{backend}"
    );
    let more = append(&store, &[react(&bob, ":e0:", true)]).await;
    assert!(
        matches!(more[0], Appended::New(_)),
        "{backend}: an emoji already there may grow"
    );
}

async fn replies_must_answer_a_message_of_the_room(store: Arc<dyn Store>, backend: &str) {
    let ann = user(&store, "ann").await;
    let r = room(&store, "r", Visibility::Public, None).await;
    let other = room(&store, "other", Visibility::Public, None).await;
    let sent = append(&store, &[entry(&r, &ann, "question")]).await;
    let id = stored(&sent[0]).id;
    let reply = |room: &Room, to| NewMessage {
        reply_to: Some(to),
        ..entry(room, &ann, "answer")
    };
    let outcomes = append(
        &store,
        &[reply(&r, id), reply(&other, id), reply(&r, id + 100)],
    )
    .await;
    match &stored(&outcomes[0]).entry {
        Entry::Message(Some(state)) => {
            let to = state.reply_to.as_ref().expect("a reply");
            assert_eq!(
                (to.id, to.author.as_str(), to.excerpt.as_str()),
                (id, "ann", "question")
            );
        }
        other => panic!("{backend}: not a reply: {other:?}"),
    }
    assert!(
        matches!(outcomes[1], Appended::Refused(Refusal::NotFound)),
        "{backend}"
    );
    assert!(
        matches!(outcomes[2], Appended::Refused(Refusal::NotFound)),
        "{backend}"
    );
    assert!(stream(&store, &other).await.is_empty(), "{backend}");
}
