// palaver's browser client: plain ES modules, no build step.
//
// - api.js: HTTP calls (register, token, rooms, history).
// - socket.js: the one palaver.v1 WebSocket, with reconnect and backoff.
// - dom.js: element helpers; user text only ever becomes text nodes.
//
// Per room the page keeps a RoomView: its message list (a detached <ol>
// while another room is shown), the ids already rendered (so nothing shows
// twice), and the highest id seen (so a resumed subscription replays exactly
// what was missed). Messages this page sent wait in `outbox` until the
// server acknowledges them; they are re-sent with the same client_id after a
// reconnect and the server stores each client_id once.

import { api, ApiError } from './api.js';
import { Connection, CLOSE } from './socket.js';
import { h, clear, appendLinkified, avatar, setAvatar, timeElement, dayKey } from './dom.js';

const SESSION_KEY = 'palaver.session';
const ROOM_KEY = 'palaver.room';
const HISTORY_PAGE = 50;
const ACK_TIMEOUT = 10_000;
const TYPING_EVERY = 2_000;
const TYPING_SHOWN = 4_000;
const GROUP_WINDOW = 5 * 60 * 1000;
const ROOMS_REFRESH = 15_000;
const MAX_TIMER = 2_147_000_000;
/** The server's default limit on a message (PALAVER_MAX_MESSAGE_BYTES). */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Refusals that sending the same message again cannot cure. */
const PERMANENT = new Set(['too_large', 'empty_message', 'bad_command', 'unknown_room']);

const $ = (id) => document.getElementById(id);
const el = {
  boot: $('boot'),
  authView: $('auth-view'),
  authForm: $('auth-form'),
  authUser: $('auth-username'),
  authPass: $('auth-password'),
  authError: $('auth-error'),
  authNotice: $('auth-notice'),
  loginButton: $('login-button'),
  registerButton: $('register-button'),
  chatView: $('chat-view'),
  menuToggle: $('menu-toggle'),
  scrim: $('scrim'),
  roomTitle: $('room-title'),
  roomTopic: $('room-topic'),
  connStatus: $('conn-status'),
  banner: $('banner'),
  bannerText: $('banner-text'),
  bannerAction: $('banner-action'),
  roomList: $('room-list'),
  newRoom: $('new-room'),
  newRoomForm: $('new-room-form'),
  newRoomName: $('new-room-name'),
  newRoomTopic: $('new-room-topic'),
  newRoomError: $('new-room-error'),
  meAvatar: $('me-avatar'),
  meName: $('me-name'),
  logout: $('logout-button'),
  scroller: $('scroller'),
  listHost: $('list-host'),
  jumpBottom: $('jump-bottom'),
  typing: $('typing'),
  composer: $('composer'),
  input: $('composer-input'),
  onlineToggle: $('online-toggle'),
  onlineToggleCount: $('online-toggle-count'),
  onlineCount: $('online-count'),
  onlineList: $('online-list'),
};

/** Everything the page knows; reset on log out. */
const S = {
  session: null, // { token, username, expiresAt }
  conn: null,
  rooms: new Map(), // name -> { name, topic, online_count }
  views: new Map(), // name -> RoomView
  current: null,
  outbox: new Map(), // client_id -> { clientId, room, content, el, timer, status }
  lastTypingSent: 0,
  timers: [],
};

// ---------------------------------------------------------------- session

function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.token === 'string' && typeof s.expiresAt === 'number' && s.expiresAt > Date.now() + 5_000) {
      return s;
    }
  } catch {
    /* unreadable: start over */
  }
  localStorage.removeItem(SESSION_KEY);
  return null;
}

function saveSession(session) {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Outside a secure context randomUUID is missing; build a v4 UUID by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function isMe(user) {
  return !!S.session && user.toLowerCase() === S.session.username.toLowerCase();
}

// ---------------------------------------------------------------- views

function setView(name) {
  document.body.dataset.view = name;
  el.boot.hidden = true;
  el.authView.hidden = name !== 'auth';
  el.chatView.hidden = name !== 'chat';
}

function showAuth(notice) {
  setView('auth');
  el.authNotice.hidden = !notice;
  el.authNotice.textContent = notice || '';
  el.authError.textContent = '';
  el.authPass.value = '';
  setBusy(false);
  (el.authUser.value ? el.authPass : el.authUser).focus();
}

function setBusy(busy) {
  el.loginButton.disabled = busy;
  el.registerButton.disabled = busy;
  el.authForm.setAttribute('aria-busy', busy ? 'true' : 'false');
}

function credentials() {
  return { username: el.authUser.value.trim(), password: el.authPass.value };
}

async function logIn(username, password) {
  const token = await api.login(username, password);
  const expiresIn = Number(token.expires_in) || 30 * 60;
  const session = { token: token.access_token, username, expiresAt: Date.now() + expiresIn * 1000 };
  try {
    const me = await api.me(session.token);
    session.username = me.username;
  } catch {
    /* keep the name as typed */
  }
  saveSession(session);
  startChat(session);
}

async function onLogin(event) {
  event.preventDefault();
  const { username, password } = credentials();
  el.authError.textContent = '';
  if (!username || !password) {
    el.authError.textContent = 'Enter a username and a password.';
    return;
  }
  setBusy(true);
  try {
    await logIn(username, password);
  } catch (err) {
    el.authError.textContent = err instanceof ApiError ? err.detail : String(err);
    setBusy(false);
  }
}

async function onRegister() {
  const { username, password } = credentials();
  el.authError.textContent = '';
  if (!username || !password) {
    el.authError.textContent = 'Choose a username and a password.';
    return;
  }
  setBusy(true);
  try {
    await api.register(username, password);
    await logIn(username, password);
  } catch (err) {
    el.authError.textContent = err instanceof ApiError ? err.detail : String(err);
    setBusy(false);
  }
}

/** Forget the token and everything shown; back to the login form. */
function endSession(notice) {
  if (S.conn) S.conn.stop();
  S.conn = null;
  for (const t of S.timers) clearInterval(t);
  for (const entry of S.outbox.values()) clearTimeout(entry.timer);
  for (const view of S.views.values()) for (const t of view.typing.values()) clearTimeout(t);
  S.timers = [];
  S.outbox.clear();
  S.views.clear();
  S.rooms.clear();
  S.current = null;
  S.session = null;
  localStorage.removeItem(SESSION_KEY);
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

/** 401 from any call: the token is no good any more. */
function handleApiError(err) {
  if (err instanceof ApiError && err.status === 401) {
    sessionExpired();
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- chat

function startChat(session) {
  S.session = session;
  setView('chat');
  el.meName.textContent = session.username;
  setAvatar(el.meAvatar, session.username);
  S.timers.push(setTimeout(sessionExpired, Math.min(MAX_TIMER, session.expiresAt - Date.now())));
  S.timers.push(setInterval(refreshRooms, ROOMS_REFRESH));
  S.conn = new Connection(session.token, {
    onopen: onSocketOpen,
    onevent: onEvent,
    onstate: onSocketState,
    onrefused: onSocketRefused,
  });
  S.conn.connect();
  refreshRooms().then(() => {
    const wanted = roomFromHash() || localStorage.getItem(ROOM_KEY) || 'general';
    const first = S.rooms.has(wanted) ? wanted : S.rooms.has('general') ? 'general' : [...S.rooms.keys()][0];
    if (first) enterRoom(first);
  });
  el.input.focus();
}

function roomFromHash() {
  const name = decodeURIComponent(location.hash.replace(/^#/, ''));
  return /^[a-z0-9_-]{1,64}$/.test(name) ? name : null;
}

async function refreshRooms() {
  if (!S.session) return;
  try {
    const data = await api.rooms();
    for (const r of data.rooms) S.rooms.set(r.name, r);
    renderRooms();
  } catch (err) {
    if (!handleApiError(err)) console.warn('could not list rooms:', err.message);
  }
}

function onlineCount(name) {
  const view = S.views.get(name);
  if (view && view.presenceKnown) return view.online.size;
  return S.rooms.get(name)?.online_count ?? 0;
}

function renderRooms() {
  const names = [...S.rooms.keys()].sort();
  const items = names.map((name) => {
    const room = S.rooms.get(name);
    const view = S.views.get(name);
    const count = onlineCount(name);
    const unread = view ? view.unread : 0;
    const button = h(
      'button',
      {
        className: 'room',
        attrs: { type: 'button', 'aria-current': name === S.current ? 'page' : null },
        dataset: { room: name },
      },
      h('span', { className: 'room-name' }, h('span', { className: 'hash', text: '#', attrs: { 'aria-hidden': 'true' } }), name),
      h('span', { className: 'room-desc', text: room.topic || '' }),
      h(
        'span',
        { className: 'room-meta' },
        unread > 0 ? h('span', { className: 'unread', text: unread > 99 ? '99+' : String(unread), attrs: { 'aria-label': `${unread} unread` } }) : null,
        h('span', { className: `online-count${count ? ' some' : ''}`, text: String(count), attrs: { title: `${count} online`, 'aria-label': `${count} online` } }),
      ),
    );
    button.addEventListener('click', () => {
      enterRoom(name);
      closeDrawers();
      el.input.focus();
    });
    return h('li', {}, button);
  });
  // Re-rendering must not steal keyboard focus from a room button.
  const focused = document.activeElement?.closest?.('#room-list button')?.dataset.room;
  el.roomList.replaceChildren(...items);
  if (focused) el.roomList.querySelector(`button[data-room="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  updateTitle();
}

function updateTitle() {
  let unread = 0;
  for (const v of S.views.values()) unread += v.unread;
  const room = S.current ? `#${S.current} · ` : '';
  document.title = `${unread ? `(${unread}) ` : ''}${room}palaver`;
}

/** The per-room state and its detached DOM. */
function viewFor(name) {
  let view = S.views.get(name);
  if (view) return view;
  const list = h('ol', { className: 'messages', attrs: { role: 'log', 'aria-label': `Messages in ${name}` } });
  const start = h('div', { className: 'room-start' });
  view = {
    name,
    root: h('div', { className: 'room-view' }, start, list),
    start,
    list,
    ids: new Map(),
    lastId: 0,
    nextBefore: null,
    hasMore: false,
    loaded: false,
    loading: null,
    loadingOlder: false,
    wanted: false,
    online: new Set(),
    presenceKnown: false,
    typing: new Map(),
    unread: 0,
    scrollTop: 0,
    atBottom: true,
  };
  S.views.set(name, view);
  return view;
}

async function enterRoom(name) {
  if (!S.session) return;
  const previous = S.current ? S.views.get(S.current) : null;
  if (previous && previous.name !== name) {
    previous.scrollTop = el.scroller.scrollTop;
    previous.atBottom = nearBottom();
  }
  S.current = name;
  localStorage.setItem(ROOM_KEY, name);
  if (roomFromHash() !== name) history.replaceState(null, '', `#${encodeURIComponent(name)}`);
  const view = viewFor(name);
  view.unread = 0;
  el.listHost.replaceChildren(view.root);
  renderHeader();
  renderRooms();
  renderOnline();
  renderTyping();
  el.jumpBottom.hidden = true;
  if (view.atBottom) scrollToBottom();
  else el.scroller.scrollTop = view.scrollTop;
  if (!view.presenceKnown) {
    api
      .room(name)
      .then((detail) => {
        if (view.presenceKnown) return;
        view.online = new Set(detail.online);
        if (S.current === name) renderOnline();
        renderRooms();
      })
      .catch(() => {});
  }
  await loadInitial(view);
  subscribe(view);
}

function renderHeader() {
  const room = S.rooms.get(S.current);
  clear(el.roomTitle);
  el.roomTitle.append(h('span', { className: 'hash', text: '#', attrs: { 'aria-hidden': 'true' } }), S.current || '');
  el.roomTopic.textContent = room?.topic || '';
  el.input.placeholder = S.current ? `Message #${S.current}` : 'Message';
}

// ---------------------------------------------------------------- history

async function loadInitial(view) {
  if (view.loaded) return;
  if (view.loading) return view.loading;
  view.loading = (async () => {
    renderStart(view, 'loading');
    try {
      const page = await api.history(S.session.token, view.name, { limit: HISTORY_PAGE });
      for (const m of page.messages) insertMessage(view, m, { history: true });
      view.lastId = Math.max(view.lastId, page.next_after || 0, ...page.messages.map((m) => m.id));
      view.nextBefore = page.next_before;
      view.hasMore = !!page.has_more && page.next_before !== null;
      view.loaded = true;
      renderStart(view);
      if (S.current === view.name) {
        scrollToBottom();
        maybeLoadOlder();
      }
    } catch (err) {
      if (handleApiError(err)) return;
      renderStart(view, 'error', err.message);
    } finally {
      view.loading = null;
    }
  })();
  return view.loading;
}

async function loadOlder(view) {
  if (!view.hasMore || view.loadingOlder || !view.loaded) return;
  view.loadingOlder = true;
  renderStart(view, 'older');
  try {
    const page = await api.history(S.session.token, view.name, { before: view.nextBefore, limit: HISTORY_PAGE });
    const shown = S.current === view.name;
    const before = el.scroller.scrollHeight;
    const top = el.scroller.scrollTop;
    for (const m of page.messages) insertMessage(view, m, { history: true });
    view.nextBefore = page.next_before;
    view.hasMore = !!page.has_more && page.next_before !== null;
    renderStart(view);
    if (shown) el.scroller.scrollTop = top + (el.scroller.scrollHeight - before);
  } catch (err) {
    if (handleApiError(err)) return;
    renderStart(view, 'error', err.message);
  } finally {
    view.loadingOlder = false;
  }
  if (S.current === view.name) maybeLoadOlder();
}

/** Loads older pages while the list does not fill the screen. */
function maybeLoadOlder() {
  const view = S.views.get(S.current);
  if (view && view.hasMore && el.scroller.scrollTop < 150) loadOlder(view);
}

function renderStart(view, state, detail) {
  const start = view.start;
  clear(start);
  start.className = 'room-start';
  if (state === 'loading' || state === 'older') {
    start.append(h('span', { className: 'spinner', attrs: { 'aria-hidden': 'true' } }), state === 'loading' ? 'Loading messages…' : 'Loading older messages…');
    return;
  }
  if (state === 'error') {
    start.classList.add('error');
    const retry = h('button', { className: 'link-button', text: 'Try again', attrs: { type: 'button' } });
    retry.addEventListener('click', () => (view.loaded ? loadOlder(view) : enterRoom(view.name)));
    start.append(`Could not load messages: ${detail}. `, retry);
    return;
  }
  if (view.hasMore) {
    const more = h('button', { className: 'link-button', text: 'Load older messages', attrs: { type: 'button' } });
    more.addEventListener('click', () => loadOlder(view));
    start.append(more);
    return;
  }
  const room = S.rooms.get(view.name);
  start.classList.add('beginning');
  start.append(
    h('strong', { text: `Welcome to #${view.name}` }),
    h('span', { text: room?.topic ? room.topic : 'This is the very beginning of the room.' }),
  );
  if (!view.ids.size) start.append(h('span', { className: 'quiet', text: 'No messages yet. Say hello!' }));
}

// ---------------------------------------------------------------- messages

function nearBottom() {
  const s = el.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  el.scroller.scrollTop = el.scroller.scrollHeight;
  el.jumpBottom.hidden = true;
}

function messageElement(m, { pending = false } = {}) {
  const mine = isMe(m.user);
  const li = h('li', {
    className: `msg${mine ? ' mine' : ''}${pending ? ' pending' : ''}`,
    dataset: { user: m.user, ts: m.ts },
  });
  if (m.id !== undefined) li.dataset.id = String(m.id);
  const content = h('div', { className: 'msg-content' });
  appendLinkified(content, m.content);
  const meta = h(
    'div',
    { className: 'msg-meta' },
    h('span', { className: 'author', text: m.user }),
    timeElement(m.ts),
    h('span', { className: 'msg-state', attrs: { 'aria-live': 'polite' } }),
  );
  li.append(avatar(m.user), h('div', { className: 'msg-body' }, meta, content));
  return li;
}

/** Marks a message as following on from the one before it (same author, within 5 minutes, same day). */
function regroup(li) {
  if (!li || !li.classList.contains('msg')) return;
  const prev = li.previousElementSibling;
  const cont =
    !!prev &&
    prev.classList.contains('msg') &&
    prev.dataset.user === li.dataset.user &&
    dayKey(prev.dataset.ts) === dayKey(li.dataset.ts) &&
    Math.abs(new Date(li.dataset.ts) - new Date(prev.dataset.ts)) < GROUP_WINDOW;
  li.classList.toggle('cont', cont);
}

/**
 * Puts a stored message into its room's list in id order, once: a message
 * already rendered (replayed after a reconnect, or both acked and echoed)
 * is skipped. Returns true when it was added.
 */
function insertMessage(view, m, { history = false } = {}) {
  if (typeof m.id !== 'number' || view.ids.has(m.id)) return false;
  const li = messageElement(m);
  // Walk back past this page's own unconfirmed messages (they stay last) and
  // past newer messages; a notice marks live order, so stop there too.
  let after = view.list.lastElementChild;
  while (after) {
    if (after.classList.contains('pending')) {
      after = after.previousElementSibling;
      continue;
    }
    if (after.classList.contains('notice')) break;
    if (Number(after.dataset.id) < m.id) break;
    after = after.previousElementSibling;
  }
  if (after) after.after(li);
  else view.list.prepend(li);
  view.ids.set(m.id, li);
  regroup(li);
  regroup(li.nextElementSibling);
  if (!history && view.start.classList.contains('beginning')) renderStart(view);
  return true;
}

function addNotice(view, text) {
  const shown = S.current === view.name;
  const stick = shown && nearBottom();
  const li = h('li', { className: 'notice' }, h('span', { text }), timeElement(new Date().toISOString()));
  view.list.append(li);
  // keep pending messages last
  for (const p of view.list.querySelectorAll(':scope > .pending')) view.list.append(p);
  regroup(li.nextElementSibling);
  if (stick) scrollToBottom();
}

function onMessage(m) {
  const view = S.views.get(m.room);
  if (!view) return;
  view.lastId = Math.max(view.lastId, m.id);
  clearTyping(view, m.user);
  if (m.client_id && S.outbox.has(m.client_id) && isMe(m.user)) {
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

// ---------------------------------------------------------------- sending

function sendMessage(text) {
  const room = S.current;
  if (!room || !text.trim()) return;
  const view = viewFor(room);
  const entry = { clientId: uuid(), room, content: text, el: null, timer: null, status: 'pending' };
  entry.el = messageElement({ user: S.session.username, content: text, ts: new Date().toISOString() }, { pending: true });
  entry.el.dataset.clientId = entry.clientId;
  S.outbox.set(entry.clientId, entry);
  view.list.append(entry.el);
  regroup(entry.el);
  if (view.start.classList.contains('beginning')) renderStart(view);
  scrollToBottom();
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    // Sent anyway, the server would refuse it or close the socket (1009).
    entry.permanent = true;
    setOutgoingState(entry, 'failed', `too long (${bytes} bytes; at most ${MAX_MESSAGE_BYTES})`);
    return;
  }
  transmit(entry);
}

/** Sends (or re-sends) an outgoing message with its one client_id. */
function transmit(entry) {
  entry.permanent = false;
  S.lastSent = entry;
  setOutgoingState(entry, 'pending');
  clearTimeout(entry.timer);
  entry.timer = setTimeout(() => setOutgoingState(entry, 'failed', 'No reply from the server.'), ACK_TIMEOUT);
  S.conn?.send({ type: 'send', room: entry.room, content: entry.content, client_id: entry.clientId, ref: entry.clientId });
  S.lastTypingSent = 0;
}

function setOutgoingState(entry, status, why) {
  entry.status = status;
  const li = entry.el;
  const state = li.querySelector('.msg-state');
  clear(state);
  li.classList.toggle('pending', true);
  li.classList.toggle('failed', status === 'failed');
  if (status === 'pending') {
    state.textContent = S.conn?.open ? 'Sending…' : 'Waiting for the connection…';
    return;
  }
  clearTimeout(entry.timer);
  const retry = h('button', { className: 'retry', text: 'Retry', attrs: { type: 'button', 'aria-label': 'Retry sending this message' } });
  retry.addEventListener('click', () => transmit(entry));
  state.append(h('span', { className: 'failed-text', text: `Not sent${why ? ` — ${why}` : ''}` }), ' ', retry);
}

/** The server stored our message: it becomes an ordinary message, in id order. */
function confirmSent(clientId, stored) {
  const entry = S.outbox.get(clientId);
  if (!entry) return;
  clearTimeout(entry.timer);
  S.outbox.delete(clientId);
  const view = viewFor(entry.room);
  const shown = S.current === view.name;
  const stick = shown && nearBottom();
  const next = entry.el.nextElementSibling;
  entry.el.remove();
  regroup(next);
  insertMessage(view, {
    id: stored.id,
    room: entry.room,
    user: stored.user || S.session.username,
    content: entry.content,
    ts: stored.ts,
    client_id: clientId,
  });
  if (stick) scrollToBottom();
}

// ---------------------------------------------------------------- presence & typing

function renderOnline() {
  const view = S.current ? S.views.get(S.current) : null;
  const names = view ? [...view.online].sort((a, b) => a.localeCompare(b)) : [];
  el.onlineCount.textContent = String(names.length);
  el.onlineToggleCount.textContent = String(names.length);
  el.onlineList.replaceChildren(
    ...names.map((name) =>
      h(
        'li',
        { dataset: { user: name } },
        avatar(name, 'small'),
        h('span', { className: 'online-name', text: name }),
        isMe(name) ? h('span', { className: 'you', text: 'you' }) : null,
      ),
    ),
  );
}

function renderTyping() {
  const view = S.current ? S.views.get(S.current) : null;
  const who = view ? [...view.typing.keys()] : [];
  let text = '';
  if (who.length === 1) text = `${who[0]} is typing…`;
  else if (who.length === 2) text = `${who[0]} and ${who[1]} are typing…`;
  else if (who.length > 2) text = 'Several people are typing…';
  el.typing.textContent = text;
}

function clearTyping(view, user) {
  const t = view.typing.get(user);
  if (t === undefined) return;
  clearTimeout(t);
  view.typing.delete(user);
  if (S.current === view.name) renderTyping();
}

function onTyping(frame) {
  const view = S.views.get(frame.room);
  if (!view || isMe(frame.user)) return;
  clearTimeout(view.typing.get(frame.user));
  view.typing.set(
    frame.user,
    setTimeout(() => clearTyping(view, frame.user), TYPING_SHOWN),
  );
  if (S.current === view.name) renderTyping();
}

function onPresence(frame) {
  const view = S.views.get(frame.room);
  if (!view) return;
  if (frame.type === 'joined') {
    if (!view.online.has(frame.user)) addNotice(view, `${frame.user} joined the room`);
    view.online.add(frame.user);
  } else {
    if (view.online.has(frame.user)) addNotice(view, `${frame.user} left the room`);
    view.online.delete(frame.user);
    clearTyping(view, frame.user);
  }
  if (S.current === view.name) renderOnline();
  renderRooms();
}

// Several users came or went within one presence tick: a summary shared by
// the whole room, so it may name us or users we already knew about.
function onRoster(frame) {
  const view = S.views.get(frame.room);
  if (!view) return;
  const came = (frame.joined || []).filter((u) => !view.online.has(u) && !isMe(u));
  const went = (frame.left || []).filter((u) => view.online.has(u) && !isMe(u));
  for (const u of frame.joined || []) view.online.add(u);
  for (const u of went) {
    view.online.delete(u);
    clearTyping(view, u);
  }
  if (came.length) addNotice(view, `${summarizeNames(came)} joined the room`);
  if (went.length) addNotice(view, `${summarizeNames(went)} left the room`);
  if (S.current === view.name) renderOnline();
  renderRooms();
}

function summarizeNames(names) {
  if (names.length <= 3) return names.join(', ');
  return `${names.slice(0, 2).join(', ')} and ${names.length - 2} others`;
}

// ---------------------------------------------------------------- socket

function subscribe(view) {
  view.wanted = true;
  if (!view.loaded) return; // subscribed once its history is in
  S.conn?.send({ type: 'subscribe', room: view.name, since: view.lastId, ref: `sub:${view.name}` });
}

function onSocketOpen() {
  // Resume every room from the last id seen: the server replays what was
  // missed, then goes live.
  for (const view of S.views.values()) if (view.wanted && view.loaded) subscribe(view);
  // Then re-send what was never acknowledged, with the same client_id.
  // (Not those the server refused for good: only Retry sends them again.)
  for (const entry of S.outbox.values()) if (!entry.permanent) transmit(entry);
}

function onEvent(frame) {
  switch (frame.type) {
    case 'message':
      onMessage(frame);
      break;
    case 'ack':
      confirmSent(frame.client_id, { id: frame.id, ts: frame.ts });
      break;
    case 'subscribed': {
      const view = S.views.get(frame.room);
      if (!view) break;
      view.online = new Set(frame.presence || []);
      view.presenceKnown = true;
      if (S.current === view.name) renderOnline();
      renderRooms();
      break;
    }
    case 'joined':
    case 'left':
      onPresence(frame);
      break;
    case 'presence':
      onRoster(frame);
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

function onServerError(frame) {
  const id = frame.client_id || (typeof frame.ref === 'string' ? frame.ref : null);
  const entry = id ? S.outbox.get(id) : null;
  if (entry) {
    entry.permanent = PERMANENT.has(frame.code);
    setOutgoingState(entry, 'failed', frame.code === 'rate_limited' ? 'sending too fast' : frame.message);
    return;
  }
  if (typeof frame.ref === 'string' && frame.ref.startsWith('sub:')) {
    const view = S.views.get(frame.ref.slice(4));
    if (view) renderStart(view, 'error', frame.message);
    return;
  }
  if (frame.code !== 'rate_limited') console.warn(`server error ${frame.code}: ${frame.message}`);
}

function onSocketState(state, info) {
  document.body.dataset.conn = state;
  el.connStatus.dataset.state = state;
  for (const entry of S.outbox.values()) if (entry.status === 'pending') setOutgoingState(entry, 'pending');
  if (state === 'open') {
    el.connStatus.textContent = 'Connected';
    setBanner(null);
  } else if (state === 'connecting') {
    el.connStatus.textContent = 'Connecting…';
  } else if (state === 'reconnecting') {
    el.connStatus.textContent = 'Reconnecting…';
    if (info.code === CLOSE.TOO_BIG && S.lastSent && S.outbox.has(S.lastSent.clientId)) {
      // The server closed on our last frame: do not send it again by itself.
      S.lastSent.permanent = true;
      setOutgoingState(S.lastSent, 'failed', 'too large for the server');
    }
    const why = info.code === CLOSE.GOING_AWAY ? 'The server is restarting. ' : info.code === CLOSE.SLOW_CONSUMER ? 'The connection fell behind. ' : 'Connection lost. ';
    const wait = info.delay ? ` (next try in ${Math.max(1, Math.round(info.delay / 1000))} s)` : '';
    setBanner(`${why}Reconnecting…${wait}`, 'Reconnect now', () => S.conn?.reconnectNow());
  } else if (state === 'closed') {
    el.connStatus.textContent = 'Disconnected';
    setBanner(`Disconnected: ${info.reason}`, 'Reconnect', () => S.conn?.reconnectNow());
  } else {
    el.connStatus.textContent = '';
  }
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

let bannerHandler = null;
function setBanner(text, action, handler) {
  el.banner.hidden = !text;
  el.bannerText.textContent = text || '';
  el.bannerAction.hidden = !action;
  el.bannerAction.textContent = action || '';
  bannerHandler = handler || null;
}

// ---------------------------------------------------------------- composer & layout

function onComposerKey(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
    event.preventDefault();
    submitComposer();
  }
}

function submitComposer() {
  const text = el.input.value;
  if (!text.trim()) return;
  sendMessage(text);
  el.input.value = '';
  autosize();
}

function autosize() {
  el.input.style.height = 'auto';
  el.input.style.height = `${Math.min(el.input.scrollHeight + 2, 200)}px`;
}

function onComposerInput() {
  autosize();
  if (!el.input.value.trim() || !S.current || !S.conn?.open) return;
  const now = Date.now();
  if (now - S.lastTypingSent >= TYPING_EVERY) {
    S.lastTypingSent = now;
    S.conn.send({ type: 'typing', room: S.current });
  }
}

async function onCreateRoom(event) {
  event.preventDefault();
  el.newRoomError.textContent = '';
  const name = el.newRoomName.value.trim();
  const topic = el.newRoomTopic.value.trim();
  if (!name) {
    el.newRoomError.textContent = 'Give the room a name.';
    el.newRoomName.focus();
    return;
  }
  try {
    const room = await api.createRoom(S.session.token, name, topic);
    S.rooms.set(room.name, { ...room, online_count: 0 });
    el.newRoomName.value = '';
    el.newRoomTopic.value = '';
    el.newRoom.open = false;
    renderRooms();
    closeDrawers();
    await enterRoom(room.name);
    el.input.focus();
  } catch (err) {
    if (handleApiError(err)) return;
    el.newRoomError.textContent = err.message;
  }
}

function toggleClass(cls, button, open) {
  const on = open ?? !document.body.classList.contains(cls);
  document.body.classList.toggle(cls, on);
  button.setAttribute('aria-expanded', on ? 'true' : 'false');
  el.scrim.hidden = !document.body.classList.contains('nav-open') && !document.body.classList.contains('online-open');
}

function closeDrawers() {
  toggleClass('nav-open', el.menuToggle, false);
  toggleClass('online-open', el.onlineToggle, false);
}

function wire() {
  el.authForm.addEventListener('submit', onLogin);
  el.registerButton.addEventListener('click', onRegister);
  el.logout.addEventListener('click', () => endSession('You have logged out.'));
  el.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    submitComposer();
    el.input.focus();
  });
  el.input.addEventListener('keydown', onComposerKey);
  el.input.addEventListener('input', onComposerInput);
  el.newRoomForm.addEventListener('submit', onCreateRoom);
  el.bannerAction.addEventListener('click', () => bannerHandler?.());
  el.menuToggle.addEventListener('click', () => {
    toggleClass('nav-open', el.menuToggle);
    if (document.body.classList.contains('nav-open')) el.roomList.querySelector('button')?.focus();
  });
  el.onlineToggle.addEventListener('click', () => toggleClass('online-open', el.onlineToggle));
  el.scrim.addEventListener('click', closeDrawers);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && (document.body.classList.contains('nav-open') || document.body.classList.contains('online-open'))) {
      closeDrawers();
      el.menuToggle.focus();
    }
  });
  el.scroller.addEventListener('scroll', () => {
    if (nearBottom()) el.jumpBottom.hidden = true;
    maybeLoadOlder();
  });
  el.jumpBottom.addEventListener('click', () => {
    scrollToBottom();
    el.input.focus();
  });
  document.querySelector('.skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    el.input.focus();
  });
  window.addEventListener('hashchange', () => {
    const name = roomFromHash();
    if (S.session && name && name !== S.current && S.rooms.has(name)) enterRoom(name);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && S.conn && S.conn.state === 'reconnecting') S.conn.reconnectNow();
  });
}

function boot() {
  wire();
  const session = loadSession();
  if (session) startChat(session);
  else showAuth();
}

boot();
