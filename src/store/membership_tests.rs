//! The issue-12 store methods against a real database: SQLite always, and
//! PostgreSQL too when `PALAVER_TEST_DATABASE_URL` names one (each test in
//! a fresh schema of it, so tests running at once do not see each other).

use super::{
    Access, MemberChange, NewMessage, NewRoom, Page, PostgresStore, SqliteStore, Store, StoreError,
};
use crate::model::{Room, RoomName, RoomRole, Timestamp, User, Username, Visibility};
use std::sync::Arc;

pub(super) struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

pub(super) async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let sqlite = SqliteStore::open(&url).await.expect("SQLite opens");
    let mut all = vec![Backend {
        name: "sqlite",
        store: Arc::new(sqlite),
        _dir: Some(dir),
    }];
    if let Ok(url) = std::env::var("PALAVER_TEST_DATABASE_URL") {
        all.push(Backend {
            name: "postgres",
            store: Arc::new(postgres_in_fresh_schema(&url).await),
            _dir: None,
        });
    }
    all
}

async fn postgres_in_fresh_schema(url: &str) -> PostgresStore {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "palaver_store_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        Timestamp::now().0
    );
    let pool = sqlx::PgPool::connect(url)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .expect("create schema");
    pool.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    PostgresStore::open(&format!("{url}{sep}options=-c%20search_path%3D{schema}"))
        .await
        .expect("PostgreSQL store opens")
}

/// Runs each case once per backend.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod run {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    for backend in super::backends().await {
                        tracing::info!(backend = backend.name, "running");
                        super::$case(backend.store.clone(), backend.name).await;
                        backend.store.close().await;
                    }
                }
            )*
        }
    };
}

on_every_backend!(
    create_room_with_owner,
    access_reads_membership_bans_and_mutes,
    last_owner_cannot_leave,
    two_owners_leaving_at_once_leave_one,
    demoting_the_last_owner_is_refused,
    a_ban_ends_membership,
    direct_rooms_are_found_again,
    direct_rooms_created_at_once_are_one,
    my_rooms_names_the_others_of_direct_rooms,
    refused_among_finds_who_may_not_stay,
    archived_rooms_are_hidden,
    purge_deletes_messages,
    accounts_admins_and_disabled_users,
);

pub(super) async fn user(store: &Arc<dyn Store>, name: &str) -> User {
    store
        .create_user(&Username::parse(name).expect("a name"), "hash")
        .await
        .expect("user created")
}

fn room_name(name: &str) -> RoomName {
    RoomName::parse(name).expect("a room name")
}

pub(super) async fn room(
    store: &Arc<dyn Store>,
    name: &str,
    visibility: Visibility,
    owner: Option<&User>,
) -> Room {
    store
        .create_room(&NewRoom {
            name: &room_name(name),
            topic: "t",
            visibility,
            owner: owner.map(|u| u.id),
        })
        .await
        .expect("room created")
}

async fn access(store: &Arc<dyn Store>, room: &Room, user: &User, now: Timestamp) -> Access {
    store
        .access(&room_name(&room.name), user.id, now)
        .await
        .expect("access read")
        .expect("the room exists")
}

fn later(seconds: i64) -> Timestamp {
    Timestamp(Timestamp::now().0 + seconds * 1_000_000)
}

fn roles(members: &[super::Member]) -> Vec<(String, RoomRole)> {
    members
        .iter()
        .map(|m| (m.user.username.clone(), m.role))
        .collect()
}

async fn create_room_with_owner(store: Arc<dyn Store>, backend: &str) {
    let ann = user(&store, "ann").await;
    let secret = room(&store, "secret", Visibility::Private, Some(&ann)).await;
    assert_eq!(secret.visibility, Visibility::Private);
    let members = store.members(secret.id).await.expect("members");
    assert_eq!(
        roles(&members),
        [("ann".into(), RoomRole::Owner)],
        "{backend}"
    );

    let found = store.room(&room_name("secret")).await.expect("room");
    assert_eq!(
        found.map(|r| (r.id, r.visibility)),
        Some((secret.id, Visibility::Private))
    );
    // Listed only to members: `rooms()` is the public directory.
    let listed: Vec<String> = store
        .rooms()
        .await
        .expect("rooms")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(
        !listed.contains(&"secret".to_owned()),
        "{backend}: {listed:?}"
    );
    assert!(
        listed.contains(&"general".to_owned()),
        "{backend}: {listed:?}"
    );

    let taken = store
        .create_room(&NewRoom {
            name: &room_name("secret"),
            topic: "",
            visibility: Visibility::Public,
            owner: Some(ann.id),
        })
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict)),
        "{backend}: {taken:?}"
    );
    // The failed creation added no second membership, nor anything else.
    assert_eq!(store.members(secret.id).await.expect("members").len(), 1);

    let public = room(&store, "open", Visibility::Public, None).await;
    assert!(store.members(public.id).await.expect("members").is_empty());
}

async fn access_reads_membership_bans_and_mutes(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob, cy) = (
        user(&store, "ann").await,
        user(&store, "bob").await,
        user(&store, "cyd").await,
    );
    let r = room(&store, "club", Visibility::Private, Some(&ann)).await;
    let now = Timestamp::now();

    let owner = access(&store, &r, &ann, now).await;
    assert_eq!(owner.room.id, r.id);
    assert_eq!(owner.room.visibility, Visibility::Private);
    assert_eq!(owner.role, Some(RoomRole::Owner), "{backend}");
    assert!(!owner.banned && owner.muted.is_none());

    let outsider = access(&store, &r, &bob, now).await;
    assert_eq!(outsider.role, None);
    assert!(!outsider.banned && outsider.muted.is_none());

    assert!(
        store
            .add_member(r.id, bob.id, RoomRole::Member, now)
            .await
            .expect("add")
    );
    assert!(
        !store
            .add_member(r.id, bob.id, RoomRole::Owner, now)
            .await
            .expect("add")
    );
    let until = later(60);
    store
        .mute(r.id, bob.id, ann.id, Some(until), now)
        .await
        .expect("mute");
    let muted = access(&store, &r, &bob, now).await;
    assert_eq!(
        muted.role,
        Some(RoomRole::Member),
        "the second add changed nothing"
    );
    assert_eq!(muted.muted, Some(Some(until)), "{backend}");
    // After the mute's end it counts as none.
    assert_eq!(access(&store, &r, &bob, later(120)).await.muted, None);
    store
        .mute(r.id, bob.id, ann.id, None, now)
        .await
        .expect("mute again");
    assert_eq!(access(&store, &r, &bob, later(120)).await.muted, Some(None));
    let mutes = store.mutes(r.id, now).await.expect("mutes");
    assert_eq!(mutes.len(), 1, "{backend}: a new mute replaces the old");
    assert_eq!(mutes[0].user.id, bob.id);
    assert_eq!(mutes[0].by.as_deref(), Some("ann"));
    assert_eq!((mutes[0].until, mutes[0].reason.as_deref()), (None, None));
    assert!(store.unmute(r.id, bob.id).await.expect("unmute"));
    assert!(!store.unmute(r.id, bob.id).await.expect("unmute twice"));
    assert_eq!(access(&store, &r, &bob, now).await.muted, None);

    let ban_end = later(60);
    store
        .ban(r.id, cy.id, ann.id, Some("spam"), Some(ban_end), now)
        .await
        .expect("ban");
    assert!(access(&store, &r, &cy, now).await.banned, "{backend}");
    assert!(
        !access(&store, &r, &cy, later(61)).await.banned,
        "an expired ban is none"
    );
    assert!(store.bans(r.id, later(61)).await.expect("bans").is_empty());

    let missing = store.access(&room_name("nowhere"), ann.id, now).await;
    assert!(matches!(missing, Ok(None)), "{backend}: {missing:?}");
}

async fn last_owner_cannot_leave(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob, cy) = (
        user(&store, "ann").await,
        user(&store, "bob").await,
        user(&store, "cyd").await,
    );
    let r = room(&store, "club", Visibility::Public, Some(&ann)).await;
    let now = Timestamp::now();
    let change = store.remove_member(r.id, ann.id).await.expect("remove");
    assert_eq!(change, MemberChange::LastOwner, "{backend}");
    assert_eq!(
        store.remove_member(r.id, cy.id).await.expect("remove"),
        MemberChange::NotMember
    );
    store
        .add_member(r.id, bob.id, RoomRole::Owner, now)
        .await
        .expect("add");
    assert_eq!(
        store.remove_member(r.id, ann.id).await.expect("remove"),
        MemberChange::Done
    );
    assert_eq!(
        store.remove_member(r.id, bob.id).await.expect("remove"),
        MemberChange::LastOwner,
        "{backend}"
    );
    assert_eq!(
        roles(&store.members(r.id).await.expect("members")),
        [("bob".into(), RoomRole::Owner)]
    );

    // A room nobody owns (the seeded ones) has no such rule.
    let general = store
        .room(&room_name("general"))
        .await
        .expect("room")
        .expect("seeded");
    store
        .add_member(general.id, cy.id, RoomRole::Member, now)
        .await
        .expect("add");
    assert_eq!(
        store
            .remove_member(general.id, cy.id)
            .await
            .expect("remove"),
        MemberChange::Done
    );
}

/// The rule holds under concurrency: of two owners leaving at once, one
/// stays. Repeated, since one lucky interleaving proves little.
async fn two_owners_leaving_at_once_leave_one(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    for round in 0..10 {
        let r = room(
            &store,
            &format!("race{round}"),
            Visibility::Private,
            Some(&ann),
        )
        .await;
        store
            .add_member(r.id, bob.id, RoomRole::Owner, Timestamp::now())
            .await
            .expect("add");
        let leave = |who: i64| {
            let store = store.clone();
            tokio::spawn(async move { store.remove_member(r.id, who).await })
        };
        let (a, b) = (leave(ann.id), leave(bob.id));
        let mut outcomes = [
            a.await.expect("task").expect("remove"),
            b.await.expect("task").expect("remove"),
        ];
        outcomes.sort_by_key(|c| *c == MemberChange::Done);
        assert_eq!(
            outcomes,
            [MemberChange::LastOwner, MemberChange::Done],
            "{backend}, round {round}"
        );
        let left = store.members(r.id).await.expect("members");
        assert_eq!(left.len(), 1, "{backend}, round {round}");
        assert_eq!(left[0].role, RoomRole::Owner);
    }
}

async fn demoting_the_last_owner_is_refused(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob, cy) = (
        user(&store, "ann").await,
        user(&store, "bob").await,
        user(&store, "cyd").await,
    );
    let r = room(&store, "club", Visibility::Private, Some(&ann)).await;
    let now = Timestamp::now();
    store
        .add_member(r.id, bob.id, RoomRole::Member, now)
        .await
        .expect("add");
    assert_eq!(
        store
            .set_role(r.id, ann.id, RoomRole::Moderator)
            .await
            .expect("set"),
        MemberChange::LastOwner,
        "{backend}"
    );
    // Staying owner is no demotion.
    assert_eq!(
        store
            .set_role(r.id, ann.id, RoomRole::Owner)
            .await
            .expect("set"),
        MemberChange::Done
    );
    assert_eq!(
        store
            .set_role(r.id, cy.id, RoomRole::Moderator)
            .await
            .expect("set"),
        MemberChange::NotMember
    );
    // Handing ownership on, then stepping down.
    assert_eq!(
        store
            .set_role(r.id, bob.id, RoomRole::Owner)
            .await
            .expect("set"),
        MemberChange::Done
    );
    assert_eq!(
        store
            .set_role(r.id, ann.id, RoomRole::Moderator)
            .await
            .expect("set"),
        MemberChange::Done
    );
    assert_eq!(
        roles(&store.members(r.id).await.expect("members")),
        [
            ("bob".into(), RoomRole::Owner),
            ("ann".into(), RoomRole::Moderator)
        ],
        "{backend}: owners first"
    );
}

async fn a_ban_ends_membership(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob, cy) = (
        user(&store, "ann").await,
        user(&store, "bob").await,
        user(&store, "cyd").await,
    );
    let r = room(&store, "club", Visibility::Private, Some(&ann)).await;
    let now = Timestamp::now();
    store
        .add_member(r.id, bob.id, RoomRole::Moderator, now)
        .await
        .expect("add");
    let change = store
        .ban(r.id, bob.id, ann.id, Some("rude"), None, now)
        .await
        .expect("ban");
    assert_eq!(change, MemberChange::Done);
    let seen = access(&store, &r, &bob, now).await;
    assert_eq!((seen.role, seen.banned), (None, true), "{backend}");
    let bans = store.bans(r.id, now).await.expect("bans");
    assert_eq!(bans.len(), 1);
    assert_eq!(bans[0].user.username, "bob");
    assert_eq!(bans[0].reason.as_deref(), Some("rude"));
    assert_eq!(bans[0].by.as_deref(), Some("ann"));
    assert_eq!(bans[0].until, None);
    // A new ban replaces the old one.
    let until = later(30);
    store
        .ban(r.id, bob.id, ann.id, None, Some(until), now)
        .await
        .expect("ban again");
    let bans = store.bans(r.id, now).await.expect("bans");
    assert_eq!(bans.len(), 1, "{backend}");
    assert_eq!(
        (bans[0].reason.as_deref(), bans[0].until),
        (None, Some(until))
    );

    // Banning a non-member is fine; banning the last owner changes nothing.
    assert_eq!(
        store
            .ban(r.id, cy.id, ann.id, None, None, now)
            .await
            .expect("ban"),
        MemberChange::Done
    );
    assert_eq!(
        store
            .ban(r.id, ann.id, cy.id, None, None, now)
            .await
            .expect("ban"),
        MemberChange::LastOwner,
        "{backend}"
    );
    let owner = access(&store, &r, &ann, now).await;
    assert_eq!((owner.role, owner.banned), (Some(RoomRole::Owner), false));

    assert!(store.unban(r.id, bob.id).await.expect("unban"));
    assert!(!store.unban(r.id, bob.id).await.expect("unban twice"));
    assert!(!access(&store, &r, &bob, now).await.banned);
}

fn dm_name(tag: &str) -> RoomName {
    room_name(&format!("dm-{tag:0>24}"))
}

async fn direct_rooms_are_found_again(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    let name = dm_name("ab");
    let members = [ann.id, bob.id];
    let first = store
        .direct_room(&name, &members, Timestamp::now())
        .await
        .expect("direct room");
    assert_eq!(first.visibility, Visibility::Direct);
    assert_eq!(first.name, name.as_str());
    let again = store
        .direct_room(&name, &members, Timestamp::now())
        .await
        .expect("direct room again");
    assert_eq!(again.id, first.id, "{backend}");
    let members_now = store.members(first.id).await.expect("members");
    assert_eq!(
        roles(&members_now),
        [
            ("ann".into(), RoomRole::Member),
            ("bob".into(), RoomRole::Member)
        ]
    );
    // Leaving is allowed (nobody owns it), and the room brings the leaver back.
    assert_eq!(
        store.remove_member(first.id, bob.id).await.expect("leave"),
        MemberChange::Done
    );
    store
        .direct_room(&name, &members, Timestamp::now())
        .await
        .expect("direct room once more");
    assert_eq!(
        store.members(first.id).await.expect("members").len(),
        2,
        "{backend}"
    );
    assert!(
        !store
            .rooms()
            .await
            .expect("rooms")
            .iter()
            .any(|r| r.id == first.id),
        "direct rooms are not listed"
    );

    // A name taken by a room that is not a direct room is not theirs.
    room(&store, "dm-notadirectroom", Visibility::Public, None).await;
    let taken = store
        .direct_room(&room_name("dm-notadirectroom"), &members, Timestamp::now())
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict)),
        "{backend}: {taken:?}"
    );
}

async fn direct_rooms_created_at_once_are_one(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    for round in 0..10 {
        let name = dm_name(&format!("race{round}"));
        let create = |members: Vec<i64>| {
            let (store, name) = (store.clone(), name.clone());
            tokio::spawn(async move { store.direct_room(&name, &members, Timestamp::now()).await })
        };
        let (a, b) = (create(vec![ann.id, bob.id]), create(vec![bob.id, ann.id]));
        let a = a.await.expect("task").expect("direct room");
        let b = b.await.expect("task").expect("direct room");
        assert_eq!(a.id, b.id, "{backend}, round {round}");
        assert_eq!(store.members(a.id).await.expect("members").len(), 2);
    }
}

async fn my_rooms_names_the_others_of_direct_rooms(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob, cy, dee) = (
        user(&store, "ann").await,
        user(&store, "bob").await,
        user(&store, "cyd").await,
        user(&store, "dee").await,
    );
    let club = room(&store, "club", Visibility::Private, Some(&ann)).await;
    store
        .add_member(club.id, bob.id, RoomRole::Member, Timestamp::now())
        .await
        .expect("add");
    let dm = store
        .direct_room(&dm_name("abc"), &[cy.id, ann.id, bob.id], Timestamp::now())
        .await
        .expect("direct room");
    store
        .direct_room(&dm_name("cd"), &[cy.id, dee.id], Timestamp::now())
        .await
        .expect("a direct room ann is not in");

    let mine = store.my_rooms(ann.id).await.expect("my rooms");
    let shape: Vec<(String, RoomRole, Vec<String>)> = mine
        .iter()
        .map(|m| (m.room.name.clone(), m.role, m.others.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            ("club".into(), RoomRole::Owner, vec![]),
            (
                dm.name.clone(),
                RoomRole::Member,
                vec!["bob".to_owned(), "cyd".to_owned()]
            ),
        ],
        "{backend}"
    );
    assert!(store.my_rooms(dee.id).await.expect("my rooms")[0].others == ["cyd"]);
}

async fn refused_among_finds_who_may_not_stay(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob, cy) = (
        user(&store, "ann").await,
        user(&store, "bob").await,
        user(&store, "cyd").await,
    );
    let now = Timestamp::now();
    let public = room(&store, "open", Visibility::Public, Some(&ann)).await;
    let private = room(&store, "club", Visibility::Private, Some(&ann)).await;
    let gone = room(&store, "gone", Visibility::Public, None).await;
    store.archive_room(gone.id, now).await.expect("archive");
    store
        .ban(public.id, cy.id, ann.id, None, None, now)
        .await
        .expect("ban");
    store
        .ban(private.id, bob.id, ann.id, None, Some(later(10)), now)
        .await
        .expect("ban that ends");

    let asked = [
        (public.id, bob.id),  // public, not a member: may stay
        (public.id, cy.id),   // banned
        (private.id, ann.id), // member
        (private.id, cy.id),  // not a member of a private room
        (private.id, bob.id), // banned until later
        (gone.id, ann.id),    // archived
        (i64::MAX, ann.id),   // no such room
    ];
    let mut refused = store.refused_among(&asked, now).await.expect("refused");
    refused.sort_unstable();
    let mut expected = vec![
        (public.id, cy.id),
        (private.id, cy.id),
        (private.id, bob.id),
        (gone.id, ann.id),
        (i64::MAX, ann.id),
    ];
    expected.sort_unstable();
    assert_eq!(refused, expected, "{backend}");
    let after_ban = store
        .refused_among(&[(private.id, bob.id)], later(11))
        .await
        .expect("refused");
    assert_eq!(after_ban, [(private.id, bob.id)], "not a member either");

    // More pairs than one statement takes.
    let many: Vec<(i64, i64)> = (0..1200).map(|_| (private.id, cy.id)).collect();
    assert_eq!(
        store
            .refused_among(&many, now)
            .await
            .expect("refused")
            .len(),
        1200
    );
    assert!(
        store
            .refused_among(&[], now)
            .await
            .expect("none asked")
            .is_empty()
    );
}

async fn archived_rooms_are_hidden(store: Arc<dyn Store>, backend: &str) {
    let ann = user(&store, "ann").await;
    let r = room(&store, "old", Visibility::Public, Some(&ann)).await;
    store.set_topic(r.id, "new topic").await.expect("topic");
    assert_eq!(
        store
            .room(&room_name("old"))
            .await
            .expect("room")
            .map(|r| r.topic),
        Some("new topic".to_owned())
    );
    store
        .archive_room(r.id, Timestamp::now())
        .await
        .expect("archive");
    assert!(
        store.room(&room_name("old")).await.expect("room").is_none(),
        "{backend}"
    );
    assert!(
        store
            .access(&room_name("old"), ann.id, Timestamp::now())
            .await
            .expect("access")
            .is_none()
    );
    assert!(
        !store
            .rooms()
            .await
            .expect("rooms")
            .iter()
            .any(|x| x.id == r.id)
    );
    assert!(store.my_rooms(ann.id).await.expect("my rooms").is_empty());
    let reused = store
        .create_room(&NewRoom {
            name: &room_name("old"),
            topic: "",
            visibility: Visibility::Public,
            owner: None,
        })
        .await;
    assert!(
        matches!(reused, Err(StoreError::Conflict)),
        "{backend}: the name stays taken"
    );
}

async fn purge_deletes_messages(store: Arc<dyn Store>, backend: &str) {
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    let r = room(&store, "doomed", Visibility::Private, Some(&ann)).await;
    let now = Timestamp::now();
    let batch: Vec<NewMessage> = (0..3)
        .map(|i| NewMessage {
            room_id: r.id,
            room: r.name.clone(),
            author: ann.clone(),
            content: format!("m{i}"),
            created_at: now,
            client_id: None,
            reply_to: None,
            change: None,
        })
        .collect();
    store.append(&batch).await.expect("append");
    store
        .ban(r.id, bob.id, ann.id, None, None, now)
        .await
        .expect("ban");
    store
        .mute(r.id, bob.id, ann.id, None, now)
        .await
        .expect("mute");
    store.purge_room(r.id).await.expect("purge");

    let page = Page::After { id: 0, limit: 10 };
    assert!(
        store
            .messages(r.id, page)
            .await
            .expect("messages")
            .is_empty(),
        "{backend}"
    );
    assert!(
        store
            .room(&room_name("doomed"))
            .await
            .expect("room")
            .is_none()
    );
    assert!(store.members(r.id).await.expect("members").is_empty());
    assert!(store.bans(r.id, now).await.expect("bans").is_empty());
    assert!(store.mutes(r.id, now).await.expect("mutes").is_empty());
    // Purged, unlike archived, gives the name back.
    let again = room(&store, "doomed", Visibility::Public, None).await;
    assert_ne!(again.id, r.id);
    assert!(!access(&store, &again, &bob, now).await.banned, "{backend}");
}

async fn accounts_admins_and_disabled_users(store: Arc<dyn Store>, backend: &str) {
    let ann = user(&store, "ann").await;
    let bob = user(&store, "Bob").await;
    let first = store.accounts(0, 10).await.expect("accounts");
    let names: Vec<&str> = first.iter().map(|a| a.user.username.as_str()).collect();
    assert_eq!(names, ["ann", "Bob"], "{backend}");
    assert!(first.iter().all(|a| !a.admin && a.disabled_at.is_none()));
    let page = store.accounts(ann.id, 1).await.expect("accounts");
    assert_eq!(page.iter().map(|a| a.user.id).collect::<Vec<_>>(), [bob.id]);

    store.set_admin(bob.id, true).await.expect("promote");
    let key = Username::parse("bob").expect("a name");
    let account = store.account(&key).await.expect("account").expect("found");
    assert_eq!(
        (account.user.id, account.admin),
        (bob.id, true),
        "{backend}"
    );
    store.set_admin(bob.id, false).await.expect("demote");
    assert!(
        !store
            .account(&key)
            .await
            .expect("account")
            .expect("found")
            .admin
    );

    let at = Timestamp::now();
    store.set_disabled(ann.id, Some(at)).await.expect("disable");
    let ann_key = Username::parse("ann").expect("a name");
    let credentials = store
        .credentials(&ann_key)
        .await
        .expect("credentials")
        .expect("found");
    assert!(credentials.disabled, "{backend}");
    let account = store
        .account(&ann_key)
        .await
        .expect("account")
        .expect("found");
    assert_eq!(account.disabled_at, Some(at));
    store.set_disabled(ann.id, None).await.expect("enable");
    let credentials = store
        .credentials(&ann_key)
        .await
        .expect("credentials")
        .expect("found");
    assert!(!credentials.disabled);
    assert!(
        store
            .account(&Username::parse("nobody").expect("a name"))
            .await
            .expect("account")
            .is_none()
    );

    store.set_admin(ann.id, true).await.expect("promote");
    let session = store
        .create_session(&super::NewSession {
            user_id: ann.id,
            user_agent: None,
            address: None,
            refresh_hash: "h",
            refresh_expires_at: later(60),
        })
        .await
        .expect("session");
    let account = store
        .session_user(session, ann.id)
        .await
        .expect("session user")
        .expect("live");
    assert_eq!(
        (account.user.id, account.admin),
        (ann.id, true),
        "{backend}"
    );
    assert!(
        store
            .session_user(session, bob.id)
            .await
            .expect("session user")
            .is_none()
    );
}
