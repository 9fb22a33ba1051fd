//! The `Store` methods that every backend hands to its `Queries` as they
//! are, written once: each backend's `impl Store` is this macro with what
//! it does its own way (appending, closing) added. The names in it resolve
//! where it is used, so each backend imports the types these methods name.

/// `impl Store for $backend`, delegating all but `$own` to `self.queries`.
macro_rules! store_over_queries {
    ($backend:ty, { $($own:tt)* }) => {
        #[async_trait]
        impl Store for $backend {
            async fn create_user(
                &self,
                username: &Username,
                password_hash: &str,
            ) -> Result<User, StoreError> {
                self.queries.create_user(username, password_hash).await
            }

            async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
                self.queries.credentials(username).await
            }

            async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
                self.queries.user(id).await
            }

            async fn set_password(&self, user: i64, password_hash: &str) -> Result<(), StoreError> {
                self.queries.set_password(user, password_hash).await
            }

            async fn create_session(&self, session: &NewSession<'_>) -> Result<i64, StoreError> {
                self.queries.create_session(session).await
            }

            async fn session_user(&self, session: i64, user: i64) -> Result<Option<Account>, StoreError> {
                self.queries.session_user(session, user).await
            }

            async fn refresh(
                &self,
                old: &str,
                new: &str,
                expires_at: Timestamp,
                now: Timestamp,
            ) -> Result<Refreshed, StoreError> {
                self.queries.refresh(old, new, expires_at, now).await
            }

            async fn sessions(&self, user: i64, now: Timestamp) -> Result<Vec<Session>, StoreError> {
                self.queries.sessions(user, now).await
            }

            async fn end_session(
                &self,
                session: i64,
                user: i64,
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                self.queries.end_session(session, user, now).await
            }

            async fn ended_among(&self, sessions: &[i64]) -> Result<Vec<i64>, StoreError> {
                self.queries.ended_among(sessions).await
            }

            async fn end_sessions(
                &self,
                user: i64,
                except: Option<i64>,
                now: Timestamp,
            ) -> Result<Vec<i64>, StoreError> {
                self.queries.end_sessions(user, except, now).await
            }

            async fn create_invite(
                &self,
                code_hash: &str,
                uses: i64,
                expires_at: Option<Timestamp>,
            ) -> Result<Invite, StoreError> {
                self.queries
                    .create_invite(code_hash, uses, expires_at)
                    .await
            }

            async fn redeem_invite(
                &self,
                code_hash: &str,
                now: Timestamp,
            ) -> Result<Option<i64>, StoreError> {
                self.queries.redeem_invite(code_hash, now).await
            }

            async fn return_invite(&self, id: i64) -> Result<(), StoreError> {
                self.queries.return_invite(id).await
            }

            async fn invites(&self) -> Result<Vec<Invite>, StoreError> {
                self.queries.invites().await
            }

            async fn rooms(&self) -> Result<Vec<Room>, StoreError> {
                self.queries.rooms().await
            }

            async fn room(&self, name: &RoomName) -> Result<Option<Room>, StoreError> {
                self.queries.room(name).await
            }

            async fn create_room(&self, room: &NewRoom<'_>) -> Result<Room, StoreError> {
                self.queries.create_room(room).await
            }

            async fn direct_room(
                &self,
                name: &RoomName,
                members: &[i64],
                now: Timestamp,
            ) -> Result<Room, StoreError> {
                self.queries.direct_room(name, members, now).await
            }

            async fn set_topic(&self, room: i64, topic: &str) -> Result<(), StoreError> {
                self.queries.set_topic(room, topic).await
            }

            async fn archive_room(&self, room: i64, now: Timestamp) -> Result<(), StoreError> {
                self.queries.archive_room(room, now).await
            }

            async fn purge_room(&self, room: i64) -> Result<(), StoreError> {
                self.queries.purge_room(room).await
            }

            async fn access(
                &self,
                name: &RoomName,
                user: i64,
                now: Timestamp,
            ) -> Result<Option<Access>, StoreError> {
                self.queries.access(name, user, now).await
            }

            async fn add_member(
                &self,
                room: i64,
                user: i64,
                role: RoomRole,
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                self.queries.add_member(room, user, role, now).await
            }

            async fn remove_member(&self, room: i64, user: i64) -> Result<MemberChange, StoreError> {
                self.queries.remove_member(room, user).await
            }

            async fn set_role(
                &self,
                room: i64,
                user: i64,
                role: RoomRole,
            ) -> Result<MemberChange, StoreError> {
                self.queries.set_role(room, user, role).await
            }

            async fn members(&self, room: i64) -> Result<Vec<Member>, StoreError> {
                self.queries.members(room).await
            }

            async fn my_rooms(&self, user: i64) -> Result<Vec<MyRoom>, StoreError> {
                self.queries.my_rooms(user).await
            }

            async fn ban(
                &self,
                room: i64,
                user: i64,
                by: i64,
                reason: Option<&str>,
                until: Option<Timestamp>,
                now: Timestamp,
            ) -> Result<MemberChange, StoreError> {
                self.queries.ban(room, user, by, reason, until, now).await
            }

            async fn unban(&self, room: i64, user: i64) -> Result<bool, StoreError> {
                self.queries.unban(room, user).await
            }

            async fn bans(&self, room: i64, now: Timestamp) -> Result<Vec<Sanction>, StoreError> {
                self.queries.bans(room, now).await
            }

            async fn mute(
                &self,
                room: i64,
                user: i64,
                by: i64,
                until: Option<Timestamp>,
                now: Timestamp,
            ) -> Result<(), StoreError> {
                self.queries.mute(room, user, by, until, now).await
            }

            async fn unmute(&self, room: i64, user: i64) -> Result<bool, StoreError> {
                self.queries.unmute(room, user).await
            }

            async fn mutes(&self, room: i64, now: Timestamp) -> Result<Vec<Sanction>, StoreError> {
                self.queries.mutes(room, now).await
            }

            async fn refused_among(
                &self,
                pairs: &[(i64, i64)],
                now: Timestamp,
            ) -> Result<Vec<(i64, i64)>, StoreError> {
                self.queries.refused_among(pairs, now).await
            }

            async fn account(&self, username: &Username) -> Result<Option<Account>, StoreError> {
                self.queries.account(username).await
            }

            async fn accounts(&self, after: i64, limit: i64) -> Result<Vec<Account>, StoreError> {
                self.queries.accounts(after, limit).await
            }

            async fn set_admin(&self, user: i64, admin: bool) -> Result<(), StoreError> {
                self.queries.set_admin(user, admin).await
            }

            async fn set_disabled(&self, user: i64, at: Option<Timestamp>) -> Result<(), StoreError> {
                self.queries.set_disabled(user, at).await
            }

            async fn messages(&self, room_id: i64, page: Page) -> Result<Vec<StoredMessage>, StoreError> {
                self.queries.messages(room_id, page).await
            }

            async fn message(&self, room_id: i64, id: i64) -> Result<Option<StoredMessage>, StoreError> {
                self.queries.message(room_id, id).await
            }

            async fn reactions(
                &self,
                messages: &[i64],
                viewer: i64,
            ) -> Result<Vec<(i64, ReactionCount)>, StoreError> {
                self.queries.reactions(messages, viewer).await
            }

            async fn versions(&self, message: i64) -> Result<Vec<(String, Timestamp)>, StoreError> {
                self.queries.versions(message).await
            }

            $($own)*
        }
    };
}
