// Writing and sending: the message box, the page's own messages from
// "Sending…" to stored (or "Not sent" with Retry), and `typing`. The box
// also answers a message (a reply: its quote shows over the box) and
// edits one of mine (Up in an empty box: my last one); the bar over the
// box says which, and × or Escape goes back to plain writing.

import { el } from './elements.js';
import { S, uuid, isMe, ACK_TIMEOUT, MAX_MESSAGE_BYTES, TYPING_EVERY } from './state.js';
import { h, clear } from './dom.js';
import { viewFor, messageElement, messageIn, myLastMessage, regroup, insertMessage, refreshWelcome, nearBottom, scrollToBottom } from './messages.js';
import { Outbox } from './outbox.js';
import { restriction } from './restrictions.js';
import { editMessage } from './changes.js';
import { excerptOf } from './stream.js';
import { notify } from './notify.js';

export const outbox = new Outbox({
  send(frame) {
    S.conn?.send(frame);
    S.lastTypingSent = 0;
  },
  render: renderOutgoing,
  ackTimeout: ACK_TIMEOUT,
});

export function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * What the box is for besides a new message: null, or
 * { kind: 'reply', room, id, author, excerpt, deleted } or
 * { kind: 'edit', room, id, draft, reply } (draft and reply: what the box
 * held before the edit began, given back when it ends).
 */
let mode = null;
/** The message being edited, marked in its list. */
let editingLi = null;

/** The reply being written, or null: its quote goes with the message. */
function replyQuote(room) {
  return mode?.kind === 'reply' && mode.room === room ? { id: mode.id, author: mode.author, excerpt: mode.excerpt, deleted: mode.deleted } : null;
}

function sendMessage(text, reply) {
  const room = S.current;
  // Removed or muted: the composer is disabled (access.js); this is for an Enter that beat it.
  if (!room || !text.trim() || restriction(room)) return;
  const view = viewFor(room);
  const entry = outbox.add({ clientId: uuid(), room, content: text, replyTo: reply?.id ?? null });
  entry.reply = reply;
  entry.el = messageElement({ user: S.session.username, content: text, ts: new Date().toISOString(), reply_to: reply }, { pending: true });
  entry.el.dataset.clientId = entry.clientId;
  view.list.append(entry.el);
  regroup(entry.el);
  refreshWelcome(view);
  scrollToBottom();
  const bytes = byteLength(text);
  if (bytes > MAX_MESSAGE_BYTES) {
    // Sent anyway, the server would refuse it or close the socket (1009).
    outbox.fail(entry, `too long (${bytes} bytes; at most ${MAX_MESSAGE_BYTES})`, true);
    return;
  }
  // A room just entered is subscribed once its history is in; until then
  // its messages wait (rooms.js releases them right after the subscribe).
  if (view.subscribeSent) outbox.transmit(entry);
  else outbox.hold(entry);
}

function renderOutgoing(entry) {
  const li = entry.el;
  const state = li.querySelector('.msg-state');
  clear(state);
  li.classList.toggle('pending', true);
  li.classList.toggle('failed', entry.status === 'failed');
  if (entry.status === 'pending') {
    state.textContent = S.conn?.open ? 'Sending…' : 'Waiting for the connection…';
    return;
  }
  const retry = h('button', { className: 'retry', text: 'Retry', attrs: { type: 'button', 'aria-label': 'Retry sending this message' } });
  retry.addEventListener('click', () => outbox.transmit(entry));
  state.append(h('span', { className: 'failed-text', text: `Not sent${entry.why ? ` — ${entry.why}` : ''}` }), ' ', retry);
}

/** The server stored our message: it becomes an ordinary message, in id order. */
export function confirmSent(clientId, stored) {
  const entry = outbox.ack(clientId);
  if (!entry) return;
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
    // The echo's own quote when it came first, else the one this page showed.
    reply_to: stored.reply_to ?? entry.reply ?? undefined,
  });
  if (stick) scrollToBottom();
}

function submitComposer() {
  const text = el.input.value;
  if (restriction(S.current)) return;
  if (mode?.kind === 'edit') {
    saveEdit(text);
    return;
  }
  if (!text.trim()) return;
  sendMessage(text, replyQuote(S.current));
  el.input.value = '';
  if (mode?.kind === 'reply') setMode(null);
  autosize();
}

/** The bar over the box, and the message it is about marked in the list. */
function setMode(next) {
  editingLi?.classList.remove('editing');
  editingLi = null;
  mode = next;
  clear(el.composerContextText);
  el.composerContext.hidden = !mode;
  el.composerContext.dataset.kind = mode?.kind || '';
  el.composer.classList.toggle('editing', mode?.kind === 'edit');
  if (!mode) {
    el.sendButton.textContent = 'Send';
    return;
  }
  if (mode.kind === 'reply') {
    el.composerContextText.append(
      'Replying to ',
      h('strong', { text: mode.author }),
      ': ',
      mode.deleted ? h('em', { text: 'message deleted' }) : h('span', { className: 'context-excerpt', text: mode.excerpt }),
    );
    el.composerContextCancel.setAttribute('aria-label', 'Cancel the reply');
    el.sendButton.textContent = 'Send';
  } else {
    el.composerContextText.append(h('strong', { text: 'Editing your message' }), ' · Enter to save, Escape to cancel');
    el.composerContextCancel.setAttribute('aria-label', 'Cancel the edit');
    el.sendButton.textContent = 'Save';
    editingLi = viewFor(mode.room).ids.get(mode.id) ?? null;
    editingLi?.classList.add('editing');
  }
}

/** Answers message `id` of the room shown: its quote over the box, sent with the next message. */
export function startReply(id) {
  const view = S.current ? S.views.get(S.current) : null;
  const state = view ? messageIn(view, id) : null;
  if (!state || state.deleted || restriction(view.name)) return;
  if (mode?.kind === 'edit') endEdit();
  setMode({ kind: 'reply', room: view.name, id, author: state.user, excerpt: excerptOf(state.content), deleted: false });
  el.input.focus();
}

/** Edits my message `id` of the room shown in the box; whatever was being written waits. */
export function startEdit(id) {
  const view = S.current ? S.views.get(S.current) : null;
  const state = view ? messageIn(view, id) : null;
  if (!state || state.deleted || !isMe(state.user) || restriction(view.name)) return;
  const draft = mode?.kind === 'edit' ? mode.draft : el.input.value;
  const reply = mode?.kind === 'edit' ? mode.reply : mode;
  setMode({ kind: 'edit', room: view.name, id, draft, reply });
  el.input.value = typeof state.saving === 'string' ? state.saving : state.content;
  autosize();
  el.input.focus();
  el.input.setSelectionRange(el.input.value.length, el.input.value.length);
}

/** The box goes back to what it held before the edit. */
function endEdit() {
  if (mode?.kind !== 'edit') return;
  const { draft, reply } = mode;
  setMode(reply && reply.room === S.current ? reply : null);
  el.input.value = draft;
  autosize();
}

function saveEdit(text) {
  const { room, id } = mode;
  const state = messageIn(viewFor(room), id);
  if (!state || state.deleted) {
    endEdit();
    return;
  }
  if (!text.trim()) {
    notify('A message cannot be empty: to take it back, delete it.');
    return;
  }
  const bytes = byteLength(text);
  if (bytes > MAX_MESSAGE_BYTES) {
    notify(`Too long (${bytes} bytes; at most ${MAX_MESSAGE_BYTES}).`);
    return;
  }
  endEdit();
  if (text !== state.content) editMessage(room, id, text);
}

/**
 * A message of `room` changed (`state`: what it is now): a reply or an
 * edit of it that is being written learns of it.
 */
export function composerSawChange(room, state) {
  if (!mode || mode.room !== room || mode.id !== state.id) return;
  if (mode.kind === 'edit' && state.deleted) {
    endEdit();
    notify('The message you were editing was deleted.');
  } else if (mode.kind === 'reply') {
    if (state.deleted) {
      setMode(null);
      notify('The message you were replying to was deleted.');
    } else {
      setMode({ ...mode, excerpt: excerptOf(state.content) });
    }
  }
}

/** Another room is shown: a reply or an edit belonged to the last one. */
export function resetComposerMode() {
  if (!mode || mode.room === S.current) return;
  if (mode.kind === 'edit') endEdit();
  setMode(null);
}

function autosize() {
  el.input.style.height = 'auto';
  el.input.style.height = `${Math.min(el.input.scrollHeight + 2, 200)}px`;
}

function onComposerKey(event) {
  const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing;
  if (event.key === 'Enter' && plain) {
    event.preventDefault();
    submitComposer();
  } else if (event.key === 'Escape' && mode) {
    event.preventDefault();
    if (mode.kind === 'edit') endEdit();
    else setMode(null);
  } else if (event.key === 'ArrowUp' && plain && !el.input.value && mode?.kind !== 'edit' && S.current) {
    const last = myLastMessage(viewFor(S.current));
    if (!last) return;
    event.preventDefault();
    startEdit(last.state.id);
  }
}

function onComposerInput() {
  autosize();
  if (mode?.kind === 'edit') return; // an edit is no news to the room
  if (!el.input.value.trim() || !S.current || !S.conn?.open || restriction(S.current)) return;
  const now = Date.now();
  if (now - S.lastTypingSent >= TYPING_EVERY) {
    S.lastTypingSent = now;
    S.conn.send({ type: 'typing', room: S.current });
  }
}

export function wireComposer() {
  el.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    submitComposer();
    el.input.focus();
  });
  el.input.addEventListener('keydown', onComposerKey);
  el.input.addEventListener('input', onComposerInput);
  el.composerContextCancel.addEventListener('click', () => {
    if (mode?.kind === 'edit') endEdit();
    else setMode(null);
    el.input.focus();
  });
}
