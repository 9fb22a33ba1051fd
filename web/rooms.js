// The rooms: the sidebar's two lists (my rooms, and the public rooms I am
// not in; topics, online and unread counts), entering a room (the address
// says which: /#python), subscribing to it, and the form that creates one,
// public or private. Which rooms are mine is membership.js's business.

import { api } from './api.js';
import { el } from './elements.js';
import { S, ROOM_KEY } from './state.js';
import { h, clear, avatar } from './dom.js';
import { applyMyRooms, addMine, roomInfo, roomLabel, sidebarSections, dmTitle } from './membership.js';
import { viewFor, nearBottom, scrollToBottom } from './messages.js';
import { loadInitial } from './history.js';
import { renderOnline, renderTyping } from './presence.js';
import { closeDrawers } from './layout.js';
import { handleApiError } from './session.js';
import { renderMembers } from './members.js';
import { restriction } from './restrictions.js';
import { renderRoomSettings } from './room-settings.js';

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

/** `label`: what the room is called ("#python" by default; a direct room's names). */
export function pageTitle(unread, room, label = room ? `#${room}` : '') {
  return `${unread ? `(${unread}) ` : ''}${label ? `${label} · ` : ''}palaver`;
}

export function roomFromHash() {
  return parseRoomHash(location.hash);
}

/**
 * The public rooms and mine, fetched together. Between two fetches, events
 * keep "mine" up to date (access.js); this catches what no event said (a
 * room deleted while offline) and the directory's online counts.
 */
export async function refreshRooms() {
  if (!S.session) return;
  // The same user still (a renewal replaces S.session, a log out empties it).
  const user = S.session.username;
  const version = S.mineVersion;
  const [directory, mine] = await Promise.allSettled([api.rooms(), api.myRooms()]);
  if (S.session?.username !== user) return;
  if (directory.status === 'fulfilled') {
    S.directory = new Set(directory.value.rooms.map((r) => r.name));
    for (const r of directory.value.rooms) S.rooms.set(r.name, { ...S.rooms.get(r.name), ...r, visibility: 'public' });
  } else if (!handleApiError(directory.reason)) {
    console.warn('could not list rooms:', directory.reason.message);
  }
  if (mine.status === 'fulfilled') {
    applyMyRooms(mine.value.rooms, S.mineVersion !== version);
  } else if (!handleApiError(mine.reason)) {
    console.warn('could not list my rooms:', mine.reason.message);
  }
  renderRooms();
  if (S.current) {
    // My role may have changed (no event says so): what the panel offers follows it.
    renderHeader();
    renderMembers();
    renderRoomSettings();
  }
}

/** Live for a room open in this page, else the last GET /rooms. */
function onlineCount(name) {
  const view = S.views.get(name);
  if (view && view.presenceKnown) return view.online.size;
  return S.rooms.get(name)?.online_count ?? 0;
}

/** A room's name as the sidebar shows it: "# python", "# plans  private", or a direct room's avatar and names. */
function roomNameElement(name, room) {
  if (room?.visibility === 'direct') {
    const others = room.others || [];
    return h('span', { className: 'room-name' }, avatar(others[0] || '?', 'tiny'), dmTitle(others));
  }
  return h(
    'span',
    { className: 'room-name' },
    h('span', { className: 'hash', text: '#', attrs: { 'aria-hidden': 'true' } }),
    name,
    room?.visibility === 'private' ? h('span', { className: 'tag', text: 'private' }) : null,
  );
}

function roomItem(name) {
  const room = roomInfo(name);
  const gone = S.gone.get(name);
  const view = S.views.get(name);
  const count = onlineCount(name);
  const unread = view ? view.unread : 0;
  const button = h(
    'button',
    {
      className: `room${gone ? ' gone' : ''}`,
      attrs: { type: 'button', 'aria-current': name === S.current ? 'page' : null },
      dataset: { room: name, visibility: room?.visibility || 'public' },
    },
    roomNameElement(name, room),
    h('span', { className: 'room-desc', text: gone ? gone.text : room?.topic || '' }),
    h(
      'span',
      { className: 'room-meta' },
      unread > 0 ? h('span', { className: 'unread', text: unreadLabel(unread), attrs: { 'aria-label': `${unread} unread` } }) : null,
      gone ? null : h('span', { className: `online-count${count ? ' some' : ''}`, text: String(count), attrs: { title: `${count} online`, 'aria-label': `${count} online` } }),
    ),
  );
  button.addEventListener('click', () => {
    enterRoom(name);
    closeDrawers();
    if (!el.input.disabled) el.input.focus();
  });
  return h('li', {}, button);
}

export function renderRooms() {
  const { mine, directory } = sidebarSections(S);
  // Re-rendering must not steal keyboard focus from a room button.
  const focused = document.activeElement?.closest?.('#room-list button')?.dataset.room;
  el.myRooms.replaceChildren(...mine.map(roomItem));
  el.directoryList.replaceChildren(...directory.map(roomItem));
  el.myRoomsEmpty.hidden = mine.length > 0;
  el.directoryEmpty.hidden = directory.length > 0;
  if (focused) el.roomList.querySelector(`button[data-room="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  updateTitle();
}

function updateTitle() {
  let unread = 0;
  for (const v of S.views.values()) unread += v.unread;
  document.title = pageTitle(unread, S.current, S.current ? roomLabel(S.current) : '');
}

/** The open room's title, topic and kind; a direct room goes by the others' names. */
export function renderHeader() {
  const room = roomInfo(S.current);
  const direct = room?.visibility === 'direct';
  clear(el.roomTitle);
  if (direct) el.roomTitle.append(roomLabel(S.current));
  else el.roomTitle.append(h('span', { className: 'hash', text: '#', attrs: { 'aria-hidden': 'true' } }), S.current || '');
  el.roomTopic.textContent = room?.topic || (direct ? 'Direct message' : '');
  const badge = direct ? 'direct message' : room?.visibility === 'private' ? 'private' : '';
  el.roomBadge.textContent = badge;
  el.roomBadge.hidden = !badge;
  // Closed (removed, muted): the box says so even before the note over it is read.
  if (restriction(S.current)) el.input.placeholder = 'You cannot write here';
  else el.input.placeholder = S.current ? `Message ${roomLabel(S.current)}` : 'Message';
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
  S.onRoomShown?.(name);
  el.jumpBottom.hidden = true;
  if (view.atBottom) scrollToBottom();
  else el.scroller.scrollTop = view.scrollTop;
  if (!view.presenceKnown && !S.gone.has(name)) {
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
  // Banned (a public room opened from the directory): the page says so, as for a `forbidden` subscribe.
  if (!view.loaded && view.loadError?.status === 403) S.onForbidden?.(name, view.loadError.message);
  // Removed from it, or it was deleted: what it showed stays, nothing more comes (access.js).
  if (S.gone.has(name)) return;
  subscribe(view);
}

/** The rooms this page may open: mine and the public ones. */
function knownRooms() {
  return [...new Set([...S.mine.keys(), ...S.directory])];
}

/** Opens the room chosen by the address, the last one used, or general. */
export async function enterFirstRoom() {
  await refreshRooms();
  const first = firstRoom(roomFromHash() || localStorage.getItem(ROOM_KEY) || 'general', knownRooms());
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
  const visibility = el.newRoomForm.elements.visibility.value === 'private' ? 'private' : 'public';
  if (!name) {
    el.newRoomError.textContent = 'Give the room a name.';
    el.newRoomName.focus();
    return;
  }
  try {
    const room = await api.createRoom(name, topic, visibility);
    S.rooms.set(room.name, { ...room, online_count: 0 });
    // Its creator is its owner (the server makes the membership in the same transaction).
    addMine({ ...room, visibility: room.visibility || visibility, role: 'owner' });
    if ((room.visibility || visibility) === 'public') S.directory.add(room.name);
    el.newRoomName.value = '';
    el.newRoomTopic.value = '';
    el.newRoomForm.elements.visibility.value = 'public';
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
    if (S.session && name && name !== S.current && (knownRooms().includes(name) || S.gone.has(name))) enterRoom(name);
  });
}
