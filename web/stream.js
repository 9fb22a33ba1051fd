// A room's stream, as the page keeps it: each message's state (content,
// edited, deleted, reactions, the message it replies to) and how the
// server's change events move it on. No DOM here.
//
// Every change event carries the state AS IT IS NOW (docs/protocol.md): an
// `edited` the current content, a `reaction` the current count. So each
// is applied as "set", never "add one": a change seen twice (replayed
// after a reconnect, or both in a history page and as an event) leaves
// the same state as seen once, and the page converges on the server's.
//
// The resume cursor (the `since` of a subscribe) is the highest stream
// position seen: a message's `id` or a change's `stream_id`.

/** How much of the original a reply quotes (the server's excerpt is the same). */
export const EXCERPT_CHARS = 100;

/** The quote of `content`: its first 100 characters, with "…" when cut. */
export function excerptOf(content) {
  const chars = [...String(content ?? '')];
  return chars.length > EXCERPT_CHARS ? `${chars.slice(0, EXCERPT_CHARS).join('')}…` : chars.join('');
}

/** The types of change entries, each at its own stream position. */
export const CHANGE_TYPES = new Set(['edited', 'deleted', 'reaction']);

/** A frame's place in its room's stream, or null for a frame that has none. */
export function streamPosition(frame) {
  const pos = frame?.type === 'message' ? frame.id : CHANGE_TYPES.has(frame?.type) ? frame.stream_id : null;
  return Number.isSafeInteger(pos) && pos > 0 ? pos : null;
}

function quoteFrom(r) {
  if (!r || typeof r !== 'object' || typeof r.id !== 'number') return null;
  const deleted = r.deleted === true;
  return {
    id: r.id,
    author: typeof r.author === 'string' ? r.author : '',
    excerpt: deleted ? '' : typeof r.excerpt === 'string' ? r.excerpt : '',
    deleted,
  };
}

function reactionsFrom(list) {
  if (!Array.isArray(list)) return [];
  return list
    .filter((r) => r && typeof r.emoji === 'string' && r.emoji && Number.isSafeInteger(r.count) && r.count > 0)
    .map((r) => ({ emoji: r.emoji, count: r.count, me: r.me === true }));
}

/**
 * The state of a message from a `message` frame or a history entry (or
 * one this page is sending: no id yet). Unknown fields are dropped; a
 * tombstone has no content and no reactions.
 */
export function messageState(m) {
  const deleted = m.deleted === true;
  return {
    id: typeof m.id === 'number' ? m.id : undefined,
    room: m.room,
    user: m.user,
    ts: m.ts,
    clientId: m.client_id,
    content: deleted ? '' : String(m.content ?? ''),
    editedAt: !deleted && typeof m.edited_at === 'string' ? m.edited_at : null,
    deleted,
    deletedBy: deleted && typeof m.deleted_by === 'string' ? m.deleted_by : null,
    reactions: deleted ? [] : reactionsFrom(m.reactions),
    replyTo: quoteFrom(m.reply_to),
  };
}

/** What a tombstone says: "Message deleted", or who other than its author deleted it. */
export function tombstoneText(state) {
  return state.deletedBy ? `Message deleted by ${state.deletedBy}` : 'Message deleted';
}

function tombstone(state, by, sameUser) {
  return {
    ...state,
    content: '',
    editedAt: null,
    deleted: true,
    deletedBy: by && !sameUser(by, state.user) ? by : state.deletedBy,
    reactions: [],
  };
}

/** An `edited` event: the content as it is now (or, replayed after a delete, a tombstone). */
export function applyEdited(state, ev, sameUser) {
  if (state.deleted) return state;
  if (ev.deleted === true) return tombstone(state, null, sameUser);
  if (typeof ev.content !== 'string') return state;
  return { ...state, content: ev.content, editedAt: typeof ev.edited_at === 'string' ? ev.edited_at : state.editedAt || ev.ts || null };
}

/** A `deleted` event: the message becomes a tombstone; `by` is kept when it is not the author. */
export function applyDeleted(state, ev, sameUser) {
  return tombstone(state, typeof ev.by === 'string' ? ev.by : null, sameUser);
}

/**
 * A `reaction` event: the emoji's count is SET to the event's (never
 * incremented), `me` follows `added` when the user is me, and an emoji
 * nobody reacts with any more goes. A new emoji goes last.
 */
export function applyReaction(state, ev, isSelf) {
  if (state.deleted || typeof ev.emoji !== 'string' || !Number.isSafeInteger(ev.count)) return state;
  const mine = typeof ev.user === 'string' && isSelf(ev.user);
  const reactions = [];
  let found = false;
  for (const r of state.reactions) {
    if (r.emoji !== ev.emoji) {
      reactions.push(r);
      continue;
    }
    found = true;
    if (ev.count > 0) reactions.push({ emoji: r.emoji, count: ev.count, me: mine ? ev.added === true : r.me });
  }
  if (!found && ev.count > 0) reactions.push({ emoji: ev.emoji, count: ev.count, me: mine && ev.added === true });
  return { ...state, reactions };
}

/**
 * Any change event applied to a message's state. `me` is the reader's
 * username; names compare without case, as the server's do.
 */
export function applyChange(state, ev, me) {
  const sameUser = (a, b) => a.toLowerCase() === b.toLowerCase();
  switch (ev.type) {
    case 'edited':
      return applyEdited(state, ev, sameUser);
    case 'deleted':
      return applyDeleted(state, ev, sameUser);
    case 'reaction':
      return applyReaction(state, ev, (u) => !!me && sameUser(u, me));
    default:
      return state;
  }
}

/** A reply's quote once its original (loaded here) changed: the excerpt follows edits and deletion. */
export function quoteOf(original) {
  return {
    id: original.id,
    author: original.user,
    excerpt: original.deleted ? '' : excerptOf(original.content),
    deleted: original.deleted,
  };
}

/** Whether the reaction `emoji` is mine on this message: a click then takes it back. */
export function reactedWith(state, emoji) {
  return state.reactions.some((r) => r.emoji === emoji && r.me);
}

/**
 * What the reader may do to a message: `mine` (they wrote it), `moderator`
 * (they may delete anyone's here), `restricted` ('gone' | 'muted' | null:
 * why they cannot write in the room). The server decides; this only keeps
 * the page from offering what it would refuse.
 */
export function allowedActions(state, { mine, moderator, restricted }) {
  const stored = typeof state.id === 'number' && !state.deleted;
  const speak = stored && !restricted;
  return {
    react: speak,
    reply: speak,
    edit: speak && mine,
    // Deleting one's own message is allowed while muted (not once removed).
    delete: stored && restricted !== 'gone' && (mine || moderator),
  };
}
