// palaver's browser client: plain ES modules, no build step. This module
// starts the page and wires the others together; each of those has one job:
//
// - state.js: what the page knows (S) and the settings the modules share.
// - elements.js: the page's fixed elements, looked up at boot.
// - api.js: HTTP calls (register, token, rooms, history).
// - session.js: the token in localStorage; a 401 anywhere logs out.
// - socket.js: the one palaver.v1 WebSocket: hello, reconnect with backoff.
// - auth.js: the login / registration form.
// - rooms.js: the room list, entering and subscribing to a room.
// - history.js: a room's history pages and the top of its list.
// - messages.js: a room's message list: in id order, once, grouped.
// - outbox.js: sent, not yet stored: ack, timeout, refusal, re-send.
// - composer.js: the message box and the page's own messages.
// - presence.js: who is online and typing; join and leave notices.
// - status.js, layout.js: the connection banner; views and drawers.
// - dom.js: element helpers; user text only ever becomes text nodes.
//
// The pure parts of these (no DOM) have unit tests in e2e/unit/.

import { api } from './api.js';
import { Connection, CLOSE } from './socket.js';
import { clear, setAvatar } from './dom.js';
import { el, bindElements } from './elements.js';
import { S, isMe, MAX_TIMER, ROOMS_REFRESH } from './state.js';
import { readSession, forgetSession, handleApiError, whenUnauthorized } from './session.js';
import { setView, wireLayout } from './layout.js';
import { showAuth, wireAuth } from './auth.js';
import { setBanner, showConnectionState, wireStatus } from './status.js';
import { refreshRooms, renderRooms, enterRoom, enterFirstRoom, subscribe, wireRooms } from './rooms.js';
import { maybeLoadOlder, renderStart, retryFor } from './history.js';
import { insertMessage, nearBottom, scrollToBottom } from './messages.js';
import { outbox, confirmSent, wireComposer } from './composer.js';
import { clearTyping, onTyping, onSubscribed, onJoinedOrLeft, onRoster } from './presence.js';

/** The page shows one notice when many arrive at once; it handles joined / left all the same. */
const CAPABILITIES = ['presence_summary'];

function startChat(session) {
  S.session = session;
  setView('chat');
  el.meName.textContent = session.username;
  setAvatar(el.meAvatar, session.username);
  S.timers.push(setTimeout(sessionExpired, Math.min(MAX_TIMER, session.expiresAt - Date.now())));
  S.timers.push(setInterval(refreshRooms, ROOMS_REFRESH));
  S.conn = new Connection(
    session.token,
    { onopen: onSocketOpen, onevent: onEvent, onstate: onSocketState, onrefused: onSocketRefused },
    { capabilities: CAPABILITIES },
  );
  S.conn.connect();
  enterFirstRoom();
  el.input.focus();
}

/** Forget the token and everything shown; back to the login form. */
function endSession(notice) {
  if (S.conn) S.conn.stop();
  S.conn = null;
  for (const t of S.timers) clearInterval(t);
  outbox.clear();
  for (const view of S.views.values()) for (const t of view.typing.values()) clearTimeout(t);
  S.timers = [];
  S.views.clear();
  S.rooms.clear();
  S.current = null;
  S.session = null;
  forgetSession(localStorage);
  clear(el.listHost);
  clear(el.roomList);
  clear(el.onlineList);
  el.typing.textContent = '';
  setBanner(null);
  document.body.classList.remove('nav-open', 'online-open');
  document.title = 'palaver';
  showAuth(notice);
}

function sessionExpired() {
  if (S.session) endSession('Your session has expired. Please log in again.');
}

// ---------------------------------------------------------------- socket

function onSocketOpen() {
  // Resume every room from the last id seen: the server replays what was
  // missed, then goes live.
  for (const view of S.views.values()) if (view.wanted && view.loaded) subscribe(view);
  // Then re-send what was never acknowledged, with the same client_id.
  // (Not those the server refused for good: only Retry sends them again.)
  outbox.resendAll();
}

function onEvent(frame) {
  switch (frame.type) {
    case 'message':
      onMessage(frame);
      break;
    case 'ack':
      confirmSent(frame.client_id, { id: frame.id, ts: frame.ts });
      break;
    case 'subscribed':
      if (onSubscribed(frame)) renderRooms();
      break;
    case 'joined':
    case 'left':
      if (onJoinedOrLeft(frame)) renderRooms();
      break;
    case 'presence':
      if (onRoster(frame)) renderRooms();
      break;
    case 'typing':
      onTyping(frame);
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
  view.lastId = Math.max(view.lastId, m.id);
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
    if (!isMe(m.user) && S.current !== view.name) {
      view.unread += 1;
      renderRooms();
    }
  }
}

function onServerError(frame) {
  if (outbox.refused(frame)) return;
  if (typeof frame.ref === 'string' && frame.ref.startsWith('sub:')) {
    const view = S.views.get(frame.ref.slice(4));
    if (view) renderStart(view, 'error', frame.message, retryFor(view, enterRoom));
    return;
  }
  if (frame.code !== 'rate_limited') console.warn(`server error ${frame.code}: ${frame.message}`);
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
    await api.me(S.session.token);
  } catch (err) {
    handleApiError(err);
  }
}

// ---------------------------------------------------------------- boot

function wire() {
  wireAuth(startChat);
  wireLayout();
  wireStatus();
  wireRooms();
  wireComposer();
  S.afterSubscribe = (room) => outbox.release(room);
  el.logout.addEventListener('click', () => endSession('You have logged out.'));
  el.scroller.addEventListener('scroll', () => {
    if (nearBottom()) el.jumpBottom.hidden = true;
    maybeLoadOlder();
  });
  el.jumpBottom.addEventListener('click', () => {
    scrollToBottom();
    el.input.focus();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && S.conn && S.conn.state === 'reconnecting') S.conn.reconnectNow();
  });
}

function boot() {
  bindElements();
  whenUnauthorized(sessionExpired);
  wire();
  const session = readSession(localStorage);
  if (session) startChat(session);
  else showAuth();
}

boot();
