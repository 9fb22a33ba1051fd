// A room's message list. Per room the page keeps a RoomView: its list (a
// detached <ol> while another room is shown), the ids already rendered (so
// nothing shows twice), and the highest id seen (so a resumed subscription
// replays exactly what was missed). The messages this page sent and the
// server has not stored yet stay last, marked .pending (composer.js).

import { el } from './elements.js';
import { S, isMe, GROUP_WINDOW } from './state.js';
import { h, clear, appendLinkified, avatar, timeElement, dayKey } from './dom.js';
import { roomInfo, roomLabel } from './membership.js';

/** The per-room state and its detached DOM. */
export function viewFor(name) {
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
    members: null, // GET /rooms/{room}/members, once asked (members.js)
    mutedUsers: new Set(), // who is muted here, as a moderator sees it (members.js)
    bans: [], // the bans in force, as a moderator sees them (members.js)
    muted: null, // { until, text }: I am muted here (access.js)
    typing: new Map(),
    unread: 0,
    scrollTop: 0,
    atBottom: true,
  };
  S.views.set(name, view);
  return view;
}

export function nearBottom() {
  const s = el.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

export function scrollToBottom() {
  el.scroller.scrollTop = el.scroller.scrollHeight;
  el.jumpBottom.hidden = true;
}

/**
 * The top of a room's list once its first message is loaded: a welcome.
 * (history.js shows spinners, errors and "older" buttons there instead.)
 */
export function renderWelcome(view) {
  const start = view.start;
  clear(start);
  start.className = 'room-start beginning';
  const room = roomInfo(view.name);
  const direct = room?.visibility === 'direct';
  start.append(
    h('strong', { text: direct ? roomLabel(view.name) : `Welcome to #${view.name}` }),
    h('span', { text: room?.topic ? room.topic : direct ? 'This is the very beginning of your conversation.' : 'This is the very beginning of the room.' }),
  );
  if (!view.ids.size) start.append(h('span', { className: 'quiet', text: 'No messages yet. Say hello!' }));
}

/** Keeps "No messages yet" true once the room has one. */
export function refreshWelcome(view) {
  if (view.start.classList.contains('beginning')) renderWelcome(view);
}

export function messageElement(m, { pending = false } = {}) {
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
    authorElement(m.user, mine),
    timeElement(m.ts),
    h('span', { className: 'msg-state', attrs: { 'aria-live': 'polite' } }),
  );
  li.append(avatar(m.user), h('div', { className: 'msg-body' }, meta, content));
  return li;
}

/** Anyone else's name is a button: a click starts a direct message with them (dms.js listens). */
export function authorElement(user, mine) {
  if (mine) return h('span', { className: 'author', text: user });
  return h('button', {
    className: 'author user-link',
    text: user,
    attrs: { type: 'button', title: `Send ${user} a direct message` },
    dataset: { user },
  });
}

/** True when `next` follows on from `prev` (same author, same day, within 5 minutes): it is shown without its own header. */
export function continuesGroup(prev, next) {
  return (
    prev.user === next.user &&
    dayKey(prev.ts) === dayKey(next.ts) &&
    Math.abs(new Date(next.ts) - new Date(prev.ts)) < GROUP_WINDOW
  );
}

/** Marks a message as following on from the one before it. */
export function regroup(li) {
  if (!li || !li.classList.contains('msg')) return;
  const prev = li.previousElementSibling;
  const cont = !!prev && prev.classList.contains('msg') && continuesGroup(prev.dataset, li.dataset);
  li.classList.toggle('cont', cont);
}

/**
 * Puts a stored message into its room's list in id order, once: a message
 * already rendered (replayed after a reconnect, or both acked and echoed)
 * is skipped. Returns true when it was added.
 */
export function insertMessage(view, m, { history = false } = {}) {
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
  if (!history) refreshWelcome(view);
  return true;
}

/** A line such as "bob joined the room", in live order. */
export function addNotice(view, text) {
  const shown = S.current === view.name;
  const stick = shown && nearBottom();
  const li = h('li', { className: 'notice' }, h('span', { text }), timeElement(new Date().toISOString()));
  view.list.append(li);
  // keep pending messages last
  for (const p of view.list.querySelectorAll(':scope > .pending')) view.list.append(p);
  regroup(li.nextElementSibling);
  if (stick) scrollToBottom();
}
