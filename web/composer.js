// Writing and sending: the message box, the page's own messages from
// "Sending…" to stored (or "Not sent" with Retry), and `typing`.

import { el } from './elements.js';
import { S, uuid, ACK_TIMEOUT, MAX_MESSAGE_BYTES, TYPING_EVERY } from './state.js';
import { h, clear } from './dom.js';
import { viewFor, messageElement, regroup, insertMessage, refreshWelcome, nearBottom, scrollToBottom } from './messages.js';
import { Outbox } from './outbox.js';
import { restriction } from './restrictions.js';

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

function sendMessage(text) {
  const room = S.current;
  // Removed or muted: the composer is disabled (access.js); this is for an Enter that beat it.
  if (!room || !text.trim() || restriction(room)) return;
  const view = viewFor(room);
  const entry = outbox.add({ clientId: uuid(), room, content: text });
  entry.el = messageElement({ user: S.session.username, content: text, ts: new Date().toISOString() }, { pending: true });
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
  });
  if (stick) scrollToBottom();
}

function submitComposer() {
  const text = el.input.value;
  if (!text.trim() || restriction(S.current)) return;
  sendMessage(text);
  el.input.value = '';
  autosize();
}

function autosize() {
  el.input.style.height = 'auto';
  el.input.style.height = `${Math.min(el.input.scrollHeight + 2, 200)}px`;
}

function onComposerKey(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
    event.preventDefault();
    submitComposer();
  }
}

function onComposerInput() {
  autosize();
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
}
