// The rooms: the sidebar list (topics, online and unread counts), entering
// a room (the address says which: /#python), subscribing to it, and the
// form that creates one.

import { api } from './api.js';
import { el } from './elements.js';
import { S, ROOM_KEY } from './state.js';
import { h, clear } from './dom.js';
import { viewFor, nearBottom, scrollToBottom } from './messages.js';
import { loadInitial } from './history.js';
import { renderOnline, renderTyping } from './presence.js';
import { closeDrawers } from './layout.js';
import { handleApiError } from './session.js';

const ROOM_NAME = /^[a-z0-9_-]{1,64}$/;

/** The room an address names ("#python"), or null. */
export function parseRoomHash(hash) {
  let name;
  try {
    name = decodeURIComponent(hash.replace(/^#/, ''));
  } catch {
    return null;
  }
  return ROOM_NAME.test(name) ? name : null;
}

/** The room to open first: the one asked for if it exists, else general, else any. */
export function firstRoom(wanted, names) {
  if (wanted && names.includes(wanted)) return wanted;
  if (names.includes('general')) return 'general';
  return names[0];
}

export function unreadLabel(count) {
  return count > 99 ? '99+' : String(count);
}

export function pageTitle(unread, room) {
  return `${unread ? `(${unread}) ` : ''}${room ? `#${room} · ` : ''}palaver`;
}

export function roomFromHash() {
  return parseRoomHash(location.hash);
}

export async function refreshRooms() {
  if (!S.session) return;
  try {
    const data = await api.rooms();
    for (const r of data.rooms) S.rooms.set(r.name, r);
    renderRooms();
  } catch (err) {
    if (!handleApiError(err)) console.warn('could not list rooms:', err.message);
  }
}

/** Live for a room open in this page, else the last GET /rooms. */
function onlineCount(name) {
  const view = S.views.get(name);
  if (view && view.presenceKnown) return view.online.size;
  return S.rooms.get(name)?.online_count ?? 0;
}

export function renderRooms() {
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
        unread > 0 ? h('span', { className: 'unread', text: unreadLabel(unread), attrs: { 'aria-label': `${unread} unread` } }) : null,
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
  document.title = pageTitle(unread, S.current);
}

function renderHeader() {
  const room = S.rooms.get(S.current);
  clear(el.roomTitle);
  el.roomTitle.append(h('span', { className: 'hash', text: '#', attrs: { 'aria-hidden': 'true' } }), S.current || '');
  el.roomTopic.textContent = room?.topic || '';
  el.input.placeholder = S.current ? `Message #${S.current}` : 'Message';
}

export async function enterRoom(name) {
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
    // Until the subscription's own list arrives.
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
  await loadInitial(view, enterRoom);
  subscribe(view);
}

/** Opens the room chosen by the address, the last one used, or general. */
export async function enterFirstRoom() {
  await refreshRooms();
  const first = firstRoom(roomFromHash() || localStorage.getItem(ROOM_KEY) || 'general', [...S.rooms.keys()]);
  if (first) enterRoom(first);
}

/** Subscribed once its history is in, from the last id seen: the server replays what came after. */
export function subscribe(view) {
  view.wanted = true;
  if (!view.loaded) return;
  if (!S.conn) return;
  S.conn.send({ type: 'subscribe', room: view.name, since: view.lastId, ref: `sub:${view.name}` });
  view.subscribeSent = true;
  S.afterSubscribe?.(view.name);
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
    const room = await api.createRoom(name, topic);
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

export function wireRooms() {
  el.newRoomForm.addEventListener('submit', onCreateRoom);
  window.addEventListener('hashchange', () => {
    const name = roomFromHash();
    if (S.session && name && name !== S.current && S.rooms.has(name)) enterRoom(name);
  });
}
