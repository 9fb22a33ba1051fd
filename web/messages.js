// A room's message list. Per room the page keeps a RoomView: its list (a
// detached <ol> while another room is shown), the ids already rendered (so
// nothing shows twice), and the highest stream position seen, a message's
// id or a change's stream_id (so a resumed subscription replays exactly
// what was missed). The messages this page sent and the server has not
// stored yet stay last, marked .pending (composer.js).
//
// Each message element is drawn from its state (stream.js): content or
// tombstone, "(edited)", the quote of the message it replies to, its
// reaction chips, and the tools a reader may use on it (message-menu.js
// makes them work). A change redraws the message from its new state.

import { el } from './elements.js';
import { S, isMe, GROUP_WINDOW } from './state.js';
import { h, clear, appendLinkified, avatar, timeElement, dayKey } from './dom.js';
import { roomInfo, roomLabel } from './membership.js';
import { canModerate } from './roles.js';
import { restriction } from './restrictions.js';
import { messageState, applyChange, quoteOf, excerptOf, tombstoneText, allowedActions } from './stream.js';
import { emojiName } from './emoji.js';

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
    ids: new Map(), // message id -> its <li>
    lastId: 0, // the resume cursor: the highest message id or change stream_id seen
    orphans: new Map(), // message id -> changes to a message not shown yet, while an older page is on its way
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

/** Each message element's state (stream.js). */
const states = new WeakMap();

/** The state a message element was drawn from. */
export function stateOf(li) {
  return li ? states.get(li) : undefined;
}

/** The state of the message `id` shown in `view`, or undefined. */
export function messageIn(view, id) {
  return stateOf(view.ids.get(id));
}

/** Whether I may delete anyone's message in `name` (a moderator, an owner, a server admin). */
export function moderatesIn(name) {
  return canModerate(roomInfo(name), S.admin);
}

/** What I may do to the message of `li` in `name`, now. */
export function actionsFor(name, state) {
  return allowedActions(state, {
    mine: isMe(state.user),
    moderator: moderatesIn(name),
    restricted: restriction(name)?.kind ?? null,
  });
}

/** `m`: a message frame, a history entry, or a message this page is sending (no id). */
export function messageElement(m, { pending = false } = {}) {
  const state = messageState(m);
  const mine = isMe(state.user);
  const li = h('li', {
    className: `msg${mine ? ' mine' : ''}${pending ? ' pending' : ''}`,
    dataset: { user: state.user, ts: state.ts },
  });
  if (state.id !== undefined) li.dataset.id = String(state.id);
  const meta = h(
    'div',
    { className: 'msg-meta' },
    authorElement(state.user, mine),
    timeElement(state.ts),
    h('span', { className: 'msg-state', attrs: { 'aria-live': 'polite' } }),
  );
  li.append(avatar(state.user), h('div', { className: 'msg-body' }, meta));
  renderMessage(li, state);
  return li;
}

/**
 * (Re)draws what a message's state decides: its quote, text or tombstone,
 * "(edited)", reactions and tools. The header and what message-menu.js
 * opened under it (a picker, the versions) stay, but not on a tombstone.
 */
export function renderMessage(li, state) {
  states.set(li, state);
  const body = li.querySelector('.msg-body');
  const meta = body.querySelector('.msg-meta');
  // A re-draw must not lose the focus: a chip clicked by keyboard is replaced when its count comes back.
  const active = document.activeElement;
  const hadFocus = !!active && li.contains(active);
  const key = hadFocus ? focusKey(active) : null;
  for (const part of body.querySelectorAll(':scope > .msg-quote, :scope > .msg-text, :scope > .msg-reactions')) part.remove();
  li.classList.toggle('deleted', state.deleted);
  li.classList.toggle('saving', typeof state.saving === 'string');
  const parts = [];
  if (state.replyTo && !state.deleted) parts.push(quoteElement(state.replyTo));
  const content = h('div', { className: `msg-content${state.deleted ? ' tombstone' : ''}` });
  if (state.deleted) content.textContent = tombstoneText(state);
  else appendLinkified(content, typeof state.saving === 'string' ? state.saving : state.content);
  const text = h('div', { className: 'msg-text' }, content);
  if (state.editedAt && !state.deleted) {
    const when = new Date(state.editedAt);
    const at = Number.isNaN(when.getTime()) ? '' : ` ${when.toLocaleString()}`;
    text.append(
      ' ',
      h('button', {
        className: 'msg-edited link-like',
        text: '(edited)',
        attrs: { type: 'button', title: `Edited${at}: show the earlier versions`, 'aria-label': 'Edited: show the earlier versions', 'aria-expanded': 'false' },
      }),
    );
  }
  parts.push(text);
  if (state.reactions.length) parts.push(reactionsElement(state));
  meta.after(...parts);
  if (state.deleted) for (const panel of li.querySelectorAll('.msg-panel')) panel.remove();
  renderTools(li, state);
  if (hadFocus && !active.isConnected) restoreFocus(li, key);
}

/** "↩ alice: the excerpt": a click shows the original (message-menu.js). */
function quoteElement(q) {
  const excerpt = q.deleted
    ? h('span', { className: 'quote-text tombstone', text: 'Message deleted' })
    : h('span', { className: 'quote-text', text: q.excerpt });
  return h(
    'button',
    {
      className: 'msg-quote',
      attrs: { type: 'button', title: 'Show the original message', 'aria-label': `Reply to ${q.author}: ${q.deleted ? 'message deleted' : q.excerpt}. Show the original message.` },
      dataset: { replyTo: String(q.id) },
    },
    h('span', { className: 'quote-mark', text: '↩', attrs: { 'aria-hidden': 'true' } }),
    h('span', { className: 'quote-author', text: q.author }),
    excerpt,
  );
}

/** "👍 3" chips, pressed where one is mine; a click adds or takes back mine. */
function reactionsElement(state) {
  return h(
    'div',
    { className: 'msg-reactions', attrs: { role: 'group', 'aria-label': 'Reactions' } },
    ...state.reactions.map((r) => {
      const label = `${emojiName(r.emoji)}: ${r.count} ${r.count === 1 ? 'reaction' : 'reactions'}${r.me ? ', yours among them' : ''}`;
      return h(
        'button',
        {
          className: `reaction${r.me ? ' me' : ''}`,
          attrs: { type: 'button', 'aria-pressed': r.me ? 'true' : 'false', 'aria-label': label, title: `${label}. Click to ${r.me ? 'take yours back' : 'add yours'}.` },
          dataset: { emoji: r.emoji },
        },
        h('span', { className: 'reaction-emoji', text: r.emoji, attrs: { 'aria-hidden': 'true' } }),
        h('span', { className: 'reaction-count', text: String(r.count), attrs: { 'aria-hidden': 'true' } }),
      );
    }),
  );
}

const TOOLS = [
  ['react', '☺', 'Add a reaction'],
  ['reply', '↩', 'Reply'],
  ['edit', '✎', 'Edit'],
  ['delete', '⌫', 'Delete'],
];

/**
 * The tools of a stored message: a "⋯" button (always there for touch and
 * keyboard; shown on hover with a mouse) and the toolbar it opens, which
 * hovering shows too. Which tools it offers is decided again each time it
 * is opened (syncTools): my role may have changed since it was drawn.
 */
function renderTools(li, state) {
  let tools = li.querySelector(':scope > .msg-tools');
  if (typeof state.id !== 'number' || state.deleted) {
    tools?.remove();
    return;
  }
  if (!tools) {
    const bar = h(
      'div',
      { className: 'msg-toolbar', attrs: { role: 'toolbar', 'aria-label': `Actions on the message from ${state.user}` } },
      ...TOOLS.map(([action, icon, label]) =>
        h('button', { className: 'tool', text: icon, attrs: { type: 'button', 'aria-label': label, title: label, tabindex: '-1' }, dataset: { action } }),
      ),
    );
    const more = h('button', {
      className: 'msg-more',
      text: '⋯',
      attrs: { type: 'button', 'aria-label': `Message actions (${state.user})`, title: 'Message actions', 'aria-expanded': 'false', 'aria-haspopup': 'true' },
    });
    tools = h('div', { className: 'msg-tools' }, bar, more);
    li.append(tools);
  }
  syncTools(li);
}

/** Shows the tools I may use on this message now; false when there are none. */
export function syncTools(li) {
  const state = stateOf(li);
  const tools = li.querySelector(':scope > .msg-tools');
  if (!state || !tools) return false;
  const allowed = actionsFor(state.room ?? S.current, state);
  let any = false;
  for (const button of tools.querySelectorAll('.tool')) {
    button.hidden = !allowed[button.dataset.action];
    any ||= !button.hidden;
  }
  tools.hidden = !any;
  for (const chip of li.querySelectorAll('.reaction')) chip.disabled = !allowed.react;
  return any;
}

/**
 * My standing in the room changed (muted, unmuted, removed): the tools of
 * its messages follow, so that "⋯" is there for the keyboard exactly when
 * it leads somewhere.
 */
export function syncRoomTools(view) {
  for (const li of view.ids.values()) syncTools(li);
}

function focusKey(node) {
  if (node.dataset.emoji) return `emoji:${node.dataset.emoji}`;
  if (node.dataset.action) return `action:${node.dataset.action}`;
  if (node.classList.contains('msg-edited')) return 'edited';
  if (node.classList.contains('msg-quote')) return 'quote';
  if (node.classList.contains('msg-more')) return 'more';
  return null;
}

/** The focus goes to what stands in for the element that had it, else to the message itself. */
function restoreFocus(li, key) {
  const [kind, value] = (key || '').split(/:(.*)/s);
  let target = null;
  if (kind === 'emoji') target = [...li.querySelectorAll('.reaction')].find((b) => b.dataset.emoji === value);
  else if (kind === 'action') target = [...li.querySelectorAll('[data-action]')].find((b) => b.dataset.action === value);
  else if (kind === 'edited') target = li.querySelector('.msg-edited');
  else if (kind === 'quote') target = li.querySelector('.msg-quote');
  else if (kind === 'more') target = li.querySelector('.msg-more');
  // Gone (the last reaction of its kind, the message deleted): the message itself keeps the focus in the list.
  if (!target || target.hidden || target.disabled) {
    li.tabIndex = -1;
    target = li;
  }
  target.focus({ preventScroll: true });
}

/**
 * A change event (edited, deleted, reaction) for a message of `view`: its
 * new state is drawn, and so are the quotes of the replies to it (also
 * when the original itself is not shown: an edit says what it says now).
 * Returns the new state, or null when the message is not shown.
 */
export function applyToMessage(view, frame) {
  const li = view.ids.get(frame.id);
  const before = stateOf(li);
  if (!before) {
    if (frame.type === 'deleted' || (frame.type === 'edited' && frame.deleted === true)) refreshQuotes(view, frame.id, { excerpt: '', deleted: true });
    else if (frame.type === 'edited' && typeof frame.content === 'string') refreshQuotes(view, frame.id, { excerpt: excerptOf(frame.content), deleted: false });
    return null;
  }
  let after = applyChange(before, frame, S.session?.username);
  // My edit on its way is shown until the server's `edited` (or `deleted`) says what the message is now.
  if ((frame.type === 'edited' || after.deleted) && typeof after.saving === 'string') after = { ...after, saving: null };
  if (after === before) return before;
  renderMessage(li, after);
  if (after.content !== before.content || after.deleted !== before.deleted) {
    const q = quoteOf(after);
    refreshQuotes(view, after.id, { excerpt: q.excerpt, deleted: q.deleted });
  }
  return after;
}

/** Every shown reply to message `id` quotes what it says now (its author stays). */
export function refreshQuotes(view, id, { excerpt, deleted }) {
  for (const button of view.list.querySelectorAll(`.msg-quote[data-reply-to="${id}"]`)) {
    const li = button.closest('li.msg');
    const state = stateOf(li);
    if (!state?.replyTo) continue;
    if (state.replyTo.excerpt === excerpt && state.replyTo.deleted === deleted) continue;
    renderMessage(li, { ...state, replyTo: { ...state.replyTo, excerpt, deleted } });
  }
}

/** Sets a message's state as the page sees it (an edit on its way, or taken back). */
export function updateMessage(view, id, change) {
  const li = view.ids.get(id);
  const state = stateOf(li);
  if (!state) return null;
  const next = { ...state, ...change };
  renderMessage(li, next);
  return next;
}

/** My newest message in `view` that is stored and not deleted (Up in an empty composer edits it). */
export function myLastMessage(view) {
  for (let li = view.list.lastElementChild; li; li = li.previousElementSibling) {
    if (!li.classList.contains('msg') || li.classList.contains('pending')) continue;
    const state = stateOf(li);
    if (state && typeof state.id === 'number' && !state.deleted && isMe(state.user)) return { li, state };
  }
  return null;
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
  const li = messageElement({ ...m, room: view.name });
  // Changes to it that came while its page was on its way: the page may be older than they are.
  const missed = view.orphans.get(m.id);
  if (missed) {
    view.orphans.delete(m.id);
    let state = stateOf(li);
    for (const frame of missed) state = applyChange(state, frame, S.session?.username);
    renderMessage(li, state);
  }
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
  // An older page brings the originals of replies already shown: their quotes may be older than it.
  if (history) {
    const q = quoteOf(stateOf(li));
    refreshQuotes(view, m.id, { excerpt: q.excerpt, deleted: q.deleted });
  }
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
