// palaver's browser client: plain ES modules, no build step. This module
// starts the page and wires the others together; each of those has one job:
//
// - state.js: what the page knows (S) and the settings the modules share.
// - elements.js: the page's fixed elements, looked up at boot.
// - api.js: HTTP calls; a 401 gets one fresh token and one more try.
// - session.js: the session (access and refresh token) in localStorage.
// - refresh.js: silent refresh, one tab at a time (navigator.locks).
// - vault.js: the session in IndexedDB, which all tabs see alike.
// - socket.js: the one palaver.v1 WebSocket: hello, auth, reconnect with backoff.
// - auth.js: the login / registration form.
// - account.js: password change, sessions, log out everywhere.
// - rooms.js: the sidebar's lists, entering and subscribing to a room, creating one.
// - membership.js: which rooms are mine, what each is called (no DOM).
// - roles.js: who may do what in a room (no DOM).
// - access.js: room_added, removed, muted…, live; the composer's note.
// - restrictions.js: why I cannot write in a room, in words (no DOM).
// - members.js, moderation.js: the open room's members; kick, ban, mute, roles.
// - room-settings.js: the open room's topic; leaving it.
// - dms.js: a click on a name opens a direct message.
// - notify.js: a short note for what happened away from any form.
// - history.js: a room's history pages and the top of its list.
// - messages.js: a room's message list: in id order, once, grouped.
// - outbox.js: sent, not yet stored: ack, timeout, refusal, re-send.
// - stream.js: a message's state (edited, deleted, reactions, its quote) and how change events set it.
// - changes.js, actions.js: edits, deletions and reactions: the events, and my commands until acked.
// - message-menu.js: a message's tools, the emoji picker (emoji.js), versions, a reply's original.
// - composer.js: the message box and the page's own messages; replying, editing.
// - presence.js: who is online and typing; join and leave notices.
// - status.js, layout.js: the connection banner; views and drawers.
// - dom.js: element helpers; user text only ever becomes text nodes.
//
// The pure parts of these (no DOM) have unit tests in e2e/unit/.

import { api, ApiError, useTokens } from './api.js';
import { Connection, CLOSE } from './socket.js';
import { clear, setAvatar } from './dom.js';
import { el, bindElements } from './elements.js';
import { S, isMe, ROOMS_REFRESH } from './state.js';
import { readSession, handleApiError, whenUnauthorized, sameSession, endedReason, NOTICES, SESSION_KEY } from './session.js';
import { TokenKeeper, SessionOver } from './refresh.js';
import { openVault } from './vault.js';
import { wireAccount, closeAccount } from './account.js';
import { setView, wireLayout } from './layout.js';
import { showAuth, wireAuth } from './auth.js';
import { setBanner, showConnectionState, wireStatus } from './status.js';
import { refreshRooms, renderRooms, enterRoom, enterFirstRoom, subscribe, wireRooms } from './rooms.js';
import { maybeLoadOlder, renderStart, retryFor } from './history.js';
import { insertMessage, nearBottom, scrollToBottom } from './messages.js';
import { outbox, confirmSent, wireComposer, composerSawChange, resetComposerMode } from './composer.js';
import { actions, onChange, clearChanges } from './changes.js';
import { streamPosition } from './stream.js';
import { wireMessageMenu, closeMessageMenus } from './message-menu.js';
import { clearTyping, onTyping, onSubscribed, onJoinedOrLeft, onRoster } from './presence.js';
import {
  onRoomAdded,
  onRemoved,
  onRoomRemoved,
  onMuted,
  onUnmuted,
  onRoomUpdated,
  onSubscribedAccess,
  onAccessError,
  removedFrom,
  forbiddenIn,
  topicIs,
  renderRestriction,
  wireAccess,
} from './access.js';
import { showMembers, loadMembers, renderMembers, renderMemberPresence, clearMembers, membersMayHaveChanged, noteArrivals, isKnownMember, wireMembers } from './members.js';
import { showRoomSettings, renderRoomSettings, wireRoomSettings } from './room-settings.js';
import { wireDms } from './dms.js';
import { hideNotice } from './notify.js';

/** The page shows one notice when many arrive at once; it handles joined / left all the same. */
const CAPABILITIES = ['presence_summary'];
/** Sockets closed for an expired token in a row, each renewed, before the page gives up (a server that refuses every renewal). */
const MAX_EXPIRED_CLOSES = 3;

function startChat(session) {
  S.session = session;
  S.leaving = false;
  S.expiredCloses = 0;
  S.keeper = new TokenKeeper({
    session,
    vault: S.vault,
    locks: navigator.locks ?? null,
    refresh: (refreshToken) => api.refresh(refreshToken),
    onrenewed(renewed) {
      S.session = renewed;
      S.conn?.setToken(renewed.token);
    },
    onended(reason) {
      if (!S.leaving) endSession(reason);
    },
  });
  setView('chat');
  el.meName.textContent = session.username;
  setAvatar(el.meAvatar, session.username);
  S.timers.push(setInterval(refreshRooms, ROOMS_REFRESH));
  S.conn = new Connection(
    session.token,
    { onopen: onSocketOpen, onevent: onEvent, onstate: onSocketState, onrefused: onSocketRefused, onsessionclose: onSessionClose },
    { capabilities: CAPABILITIES },
  );
  if (S.keeper.stale) {
    // Back after a while (a reload, a laptop that slept): renew first, then connect with the new token.
    S.conn.waitForToken();
    S.keeper.renew().catch(() => {});
  } else {
    S.conn.connect();
    S.keeper.schedule();
  }
  enterFirstRoom();
  el.input.focus();
  // Whether I am a server admin (ranks above owners): only what the page offers depends on it.
  api
    .me()
    .then((me) => {
      if (S.session?.username !== session.username) return;
      S.admin = me?.admin === true;
      if (S.current) {
        renderMembers();
        renderRoomSettings();
      }
    })
    .catch((err) => handleApiError(err));
}

/**
 * Forget the session and everything shown; back to the login form, which
 * says why (`reason`, a key of NOTICES, or `notice` itself).
 */
function endSession(reason, notice = NOTICES[reason] || NOTICES.ended) {
  if (!S.session) return;
  const mine = S.session;
  S.keeper?.stop();
  S.keeper = null;
  S.leaving = false;
  closeAccount();
  if (S.conn) S.conn.stop();
  S.conn = null;
  for (const t of S.timers) clearInterval(t);
  outbox.clear();
  clearChanges();
  for (const view of S.views.values()) for (const t of view.typing.values()) clearTimeout(t);
  S.timers = [];
  S.views.clear();
  S.rooms.clear();
  S.mine.clear();
  S.directory.clear();
  S.gone.clear();
  S.admin = false;
  S.current = null;
  resetComposerMode();
  S.session = null;
  S.vault.forget(reason, mine).catch((err) => console.warn('could not forget the session', err));
  clear(el.listHost);
  clear(el.myRooms);
  clear(el.directoryList);
  clear(el.onlineList);
  clearMembers();
  renderRestriction();
  hideNotice();
  el.typing.textContent = '';
  setBanner(null);
  document.body.classList.remove('nav-open', 'online-open');
  document.title = 'palaver';
  showAuth(notice);
}

/** Log out: the session ends on the server first, then here. */
async function logOut() {
  if (!S.session || S.leaving) return;
  S.leaving = true;
  let notice = NOTICES.logout;
  try {
    await api.logout();
  } catch (err) {
    // A 401: it had ended already. Anything else: it lives on the server until it expires.
    if (!(err instanceof ApiError && err.status === 401)) {
      notice = `You have logged out here, but the server could not be told (${err.message}), so the session there ends only when it expires.`;
    }
  }
  endSession('logout', notice);
}

/** Every session of this user ends, this one too; rejects (and stays logged in) if the server could not be told. */
async function logOutEverywhere() {
  if (!S.session || S.leaving) return;
  S.leaving = true;
  try {
    await api.logoutAll();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      S.leaving = false;
      throw err;
    }
  }
  endSession('logout-all');
}

/** A 401 that a fresh token did not cure. */
function onUnauthorized(err) {
  if (!S.session || S.leaving) return;
  endSession(err instanceof SessionOver ? err.reason : 'expired');
}

/** Another tab logged out, logged in, or its refresh found the session over. */
function onStorage(event) {
  if (event.storageArea !== localStorage || (event.key !== SESSION_KEY && event.key !== null)) return;
  // This tab is logging out: another tab that heard of it first does not decide what this one says.
  if (S.leaving) return;
  const stored = readSession(localStorage);
  if (S.session) {
    if (!stored) endSession(endedReason(localStorage) || 'ended');
    else if (!sameSession(stored, S.session)) {
      endSession('ended');
      startChat(stored);
    }
    // Else another tab refreshed: this one takes the new token when its own is due (refresh.js).
  } else if (stored && document.body.dataset.view === 'auth') {
    startChat(stored);
  }
}

// ---------------------------------------------------------------- socket

function onSocketOpen() {
  // Resume every room from the last id seen: the server replays what was
  // missed, then goes live.
  for (const view of S.views.values()) if (view.wanted && view.loaded) subscribe(view);
  // Rooms I was added to while the socket was down said nothing (room_added goes to open sockets).
  refreshRooms();
  // Then re-send what was never acknowledged, with the same client_id.
  // (Not those the server refused for good: only Retry sends them again.)
  outbox.resendAll();
  actions.resendAll();
}

function onEvent(frame) {
  switch (frame.type) {
    case 'message':
      onMessage(frame);
      break;
    case 'ack':
      // An edit's, a delete's or a reaction's ack says `action`; a send's does not.
      if (frame.action) actions.ack(frame);
      else confirmSent(frame.client_id, { id: frame.id, ts: frame.ts });
      break;
    case 'edited':
    case 'deleted':
    case 'reaction': {
      // A reaction's chips or a longer text make the message taller: the newest stays in sight.
      const stick = frame.room === S.current && nearBottom();
      const state = onChange(frame);
      if (state) composerSawChange(frame.room, state);
      if (stick) scrollToBottom();
      break;
    }
    case 'subscribed':
      if (onSubscribed(frame)) {
        renderRooms();
        renderMemberPresence();
      }
      onSubscribedAccess(frame);
      // Subscribing to a public room made me its member: a list read before that lacks me.
      if (frame.room === S.current && !isKnownMember(frame.room, S.session.username)) loadMembers(frame.room);
      break;
    case 'joined':
    case 'left':
      if (onJoinedOrLeft(frame)) {
        renderRooms();
        renderMemberPresence();
      }
      if (frame.type === 'left' || !isKnownMember(frame.room, frame.user)) membersMayHaveChanged(frame.room);
      if (frame.type === 'joined') noteArrivals(frame.room, [frame.user]);
      break;
    case 'presence':
      if (onRoster(frame)) {
        renderRooms();
        renderMemberPresence();
      }
      membersMayHaveChanged(frame.room);
      if (Array.isArray(frame.joined)) noteArrivals(frame.room, frame.joined);
      break;
    case 'room_added':
      onRoomAdded(frame);
      break;
    case 'removed':
      onRemoved(frame);
      break;
    case 'room_removed':
      onRoomRemoved(frame);
      break;
    case 'muted':
      onMuted(frame);
      break;
    case 'unmuted':
      onUnmuted(frame);
      break;
    case 'room_updated':
      onRoomUpdated(frame);
      break;
    case 'typing':
      onTyping(frame);
      break;
    case 'auth_expiring':
      onAuthExpiring();
      break;
    case 'authenticated':
      S.expiredCloses = 0;
      break;
    case 'error':
      onServerError(frame);
      break;
    default:
      break; // pong, unsubscribed, and types a later server may add
  }
}

function onMessage(m) {
  const view = S.views.get(m.room);
  if (!view) return;
  view.lastId = Math.max(view.lastId, streamPosition(m) ?? 0);
  clearTyping(view, m.user);
  if (m.client_id && outbox.has(m.client_id) && isMe(m.user)) {
    confirmSent(m.client_id, m);
    return;
  }
  const shown = S.current === view.name && document.body.dataset.view === 'chat';
  const stick = shown && nearBottom();
  if (!insertMessage(view, m)) return;
  if (shown) {
    if (stick) scrollToBottom();
    else el.jumpBottom.hidden = false;
  }
  if (!shown || document.hidden) {
    // A replayed message deleted meanwhile is nothing to read.
    if (!isMe(m.user) && S.current !== view.name && m.deleted !== true) {
      view.unread += 1;
      renderRooms();
    }
  }
}

function onServerError(frame) {
  if (actions.refused(frame)) {
    // Muted: the composer closes too, as for a refused send.
    if (frame.code === 'muted') onAccessError(frame);
    return;
  }
  if (onAccessError(frame)) return;
  if (outbox.refused(frame)) return;
  if (typeof frame.ref === 'string' && frame.ref.startsWith('sub:')) {
    const view = S.views.get(frame.ref.slice(4));
    if (view) renderStart(view, 'error', frame.message, retryFor(view, enterRoom));
    return;
  }
  // not_subscribed: a typing or send that crossed a `removed` on the way.
  if (frame.code !== 'rate_limited' && frame.code !== 'not_subscribed') console.warn(`server error ${frame.code}: ${frame.message}`);
}

/**
 * The server is about to close the socket for an expired token: renew it
 * on the open socket. The token to replace is the one the server holds,
 * so a warning that crossed an `auth` on the way costs no second refresh.
 */
function onAuthExpiring() {
  const conn = S.conn;
  if (!conn || !S.keeper) return;
  S.keeper
    .renew(conn.socketToken)
    .then((token) => {
      if (S.conn === conn) conn.setToken(token);
    })
    .catch(() => {}); // Over: the keeper has ended the session. Unreachable: it tries again by itself.
}

/** Closed with 4001: the session ended (log in again), or its token expired (renew, then a new socket). */
function onSessionClose(reason) {
  if (!S.session || S.leaving) return;
  S.expiredCloses += 1;
  if (reason === 'session ended' || S.expiredCloses > MAX_EXPIRED_CLOSES) {
    endSession(reason === 'session ended' ? 'ended' : 'expired');
    return;
  }
  const conn = S.conn;
  S.keeper
    .renew(conn.socketToken)
    .then((token) => {
      if (S.conn === conn) conn.setToken(token);
    })
    .catch(() => {});
}

function onSocketState(state, info) {
  outbox.renderPending();
  // The server closed on our last frame: do not send it again by itself.
  if (state === 'reconnecting' && info.code === CLOSE.TOO_BIG) outbox.closedOnLastSent();
  showConnectionState(state, info, () => S.conn?.reconnectNow());
}

/** The upgrade was refused or never reached the server: a 401 means log in again. */
async function onSocketRefused() {
  if (!S.session) return;
  try {
    await api.me();
  } catch (err) {
    handleApiError(err);
  }
}

// ---------------------------------------------------------------- boot

function wire() {
  wireAuth(async (session) => {
    await S.vault.write(session);
    startChat(session);
  });
  wireLayout();
  wireStatus();
  wireRooms();
  wireComposer();
  wireAccount(logOutEverywhere);
  wireAccess();
  wireMembers();
  wireRoomSettings({ left: (room) => removedFrom(room, 'left'), topicIs: (room, topic) => topicIs(room, topic, true) });
  wireDms();
  wireMessageMenu();
  S.afterSubscribe = (room) => outbox.release(room);
  S.onForbidden = forbiddenIn;
  S.onRoomShown = (room) => {
    closeMessageMenus();
    resetComposerMode();
    renderRestriction();
    showMembers(room);
    showRoomSettings();
  };
  el.logout.addEventListener('click', logOut);
  el.scroller.addEventListener('scroll', () => {
    if (nearBottom()) el.jumpBottom.hidden = true;
    maybeLoadOlder();
  });
  el.jumpBottom.addEventListener('click', () => {
    scrollToBottom();
    el.input.focus();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    S.keeper?.check();
    if (S.conn && S.conn.state === 'reconnecting' && !S.conn.awaitingToken) S.conn.reconnectNow();
  });
  window.addEventListener('online', () => S.keeper?.check());
  window.addEventListener('storage', onStorage);
}

async function boot() {
  bindElements();
  S.vault = openVault(globalThis.indexedDB, localStorage);
  whenUnauthorized(onUnauthorized);
  useTokens({
    current: () => S.session?.token ?? null,
    renew: (rejected) => (S.keeper ? S.keeper.renew(rejected) : Promise.reject(new SessionOver('ended'))),
  });
  wire();
  let session;
  try {
    session = await S.vault.read();
  } catch (err) {
    console.warn('could not read the session from IndexedDB', err);
    session = readSession(localStorage);
  }
  if (session) startChat(session);
  else showAuth();
}

boot();
