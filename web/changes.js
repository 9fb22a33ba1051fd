// Edits, deletions and reactions: the server's change events, applied to
// the messages shown (live, and replayed on resume), and the page's own
// commands for them over the socket (actions.js keeps each until its ack).
//
// The page changes a message only when the server's event says so, not
// when it asks: every tab and every reader then shows the same thing. The
// one exception is an edit on its way, shown at once (dimmed) and taken
// back if the server refuses it.

import { S, uuid, ACK_TIMEOUT } from './state.js';
import { Actions } from './actions.js';
import { streamPosition, reactedWith } from './stream.js';
import { applyToMessage, messageIn, updateMessage } from './messages.js';
import { notify } from './notify.js';

export const actions = new Actions({
  send: (frame) => S.conn?.send(frame) ?? false,
  makeId: () => uuid(),
  ackTimeout: ACK_TIMEOUT,
});

/**
 * An `edited`, `deleted` or `reaction` event. The room's resume cursor
 * moves to its stream_id whether or not the message is shown. Returns the
 * message's new state (null when it is not shown).
 */
export function onChange(frame) {
  const view = S.views.get(frame.room);
  if (!view || typeof frame.id !== 'number') return null;
  const pos = streamPosition(frame);
  if (pos !== null) view.lastId = Math.max(view.lastId, pos);
  if (!view.ids.has(frame.id) && view.loadingOlder) {
    // Perhaps on the older page on its way, as it was before this change: applied once that page is in.
    const missed = view.orphans.get(frame.id) || [];
    missed.push(frame);
    view.orphans.set(frame.id, missed);
  }
  return applyToMessage(view, frame);
}

/** Runs a command on message `id` of `room`; a refusal is said in a note, with `what` it was. */
function command(frame, what, { done, fail } = {}) {
  actions.run(frame, {
    done: (ack) => done?.(ack),
    fail: (why, refusal) => {
      fail?.(why, refusal);
      notify(`Could not ${what}: ${why}`);
    },
  });
}

/**
 * Saves a new content for my message `id`: shown at once, dimmed, until
 * the server's `edited` comes; a refusal puts the old content back.
 */
export function editMessage(room, id, content) {
  const view = S.views.get(room);
  if (!view || !messageIn(view, id)) return;
  updateMessage(view, id, { saving: content });
  const settle = () => {
    if (typeof messageIn(view, id)?.saving === 'string') updateMessage(view, id, { saving: null });
  };
  command({ type: 'edit', room, id, content }, 'edit the message', {
    done(ack) {
      // Nothing changed (the same content), a repeat of one already done, or its `edited` is here
      // already: the ack and the event reach this socket by separate paths, in either order.
      if (typeof ack.stream_id !== 'number' || ack.duplicate || view.lastId >= ack.stream_id) settle();
    },
    fail: settle,
  });
}

export function deleteMessage(room, id) {
  command({ type: 'delete', room, id }, 'delete the message');
}

/** Reactions on their way (room, id, emoji): a second click before the answer would only repeat the first. */
const reacting = new Set();

/** Adds my reaction `emoji` to message `id`, or takes it back if it is mine already. */
export function toggleReaction(room, id, emoji) {
  const view = S.views.get(room);
  const state = view ? messageIn(view, id) : null;
  const key = JSON.stringify([room, id, emoji]);
  if (!state || state.deleted || reacting.has(key)) return;
  const mine = reactedWith(state, emoji);
  reacting.add(key);
  const settle = () => reacting.delete(key);
  command({ type: mine ? 'unreact' : 'react', room, id, emoji }, mine ? 'take back the reaction' : 'react', { done: settle, fail: settle });
}

/** Logged out: nothing of mine is on its way any more. */
export function clearChanges() {
  actions.clear();
  reacting.clear();
}
