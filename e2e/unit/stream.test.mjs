// A message's state and how the server's change events move it on: each
// applied as "set", so a change seen twice (replayed, or both in a page and
// as an event) leaves what it leaves once, and every reader converges.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  messageState,
  applyChange,
  streamPosition,
  excerptOf,
  quoteOf,
  tombstoneText,
  reactedWith,
  allowedActions,
  EXCERPT_CHARS,
} from '../../web/stream.js';

const msg = (extra = {}) => messageState({ type: 'message', id: 42, room: 'general', user: 'alice', content: 'hello', ts: '2026-12-03T18:00:00Z', ...extra });
const edited = (extra = {}) => ({ type: 'edited', room: 'general', id: 42, stream_id: 57, user: 'alice', content: 'fixed typo', edited_at: '2026-12-03T18:01:00Z', ts: '2026-12-03T18:01:00Z', ...extra });
const deleted = (by, extra = {}) => ({ type: 'deleted', room: 'general', id: 42, stream_id: 58, by, ts: '2026-12-03T18:02:00Z', ...extra });
const reaction = (user, added, count, emoji = '👍', extra = {}) => ({ type: 'reaction', room: 'general', id: 42, stream_id: 59, emoji, user, added, count, ts: '2026-12-03T18:03:00Z', ...extra });

/** Applies frames in order, as the reader `me`. */
const apply = (state, frames, me = 'bob') => frames.reduce((s, f) => applyChange(s, f, me), state);

test('the resume cursor: a message by its id, a change by its stream_id, anything else not at all', () => {
  assert.equal(streamPosition({ type: 'message', id: 43 }), 43);
  assert.equal(streamPosition(edited()), 57);
  assert.equal(streamPosition(deleted('alice')), 58);
  assert.equal(streamPosition(reaction('bob', true, 1)), 59);
  assert.equal(streamPosition({ type: 'edited', id: 42 }), null, 'a change without its own position does not move the cursor');
  assert.equal(streamPosition({ type: 'joined', id: 7 }), null);
  assert.equal(streamPosition({ type: 'ack', id: 42, stream_id: 57 }), null, 'an ack is no entry of the stream');
});

test('a history entry: current content, edited_at, tombstone, reactions, quote', () => {
  const s = msg({ edited_at: '2026-12-03T18:01:00Z', reactions: [{ emoji: '👍', count: 3, me: true }, { emoji: '🎉', count: 0 }], reply_to: { id: 40, author: 'carol', excerpt: 'hi' } });
  assert.equal(s.editedAt, '2026-12-03T18:01:00Z');
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 3, me: true }], 'a count of 0 is no chip');
  assert.deepEqual(s.replyTo, { id: 40, author: 'carol', excerpt: 'hi', deleted: false });
  const gone = msg({ deleted: true, content: '', deleted_by: 'mod', reactions: [{ emoji: '👍', count: 1 }] });
  assert.equal(gone.deleted, true);
  assert.equal(gone.content, '');
  assert.deepEqual(gone.reactions, []);
  assert.equal(tombstoneText(gone), 'Message deleted by mod');
  assert.equal(tombstoneText(msg({ deleted: true, content: '' })), 'Message deleted', 'deleted by its author');
  assert.deepEqual(msg({ reply_to: { id: 40, author: 'carol', excerpt: '', deleted: true } }).replyTo, { id: 40, author: 'carol', excerpt: '', deleted: true });
  assert.equal(msg({ reply_to: 'nonsense' }).replyTo, null);
});

test('edited sets the content and edited_at; seen twice, the same', () => {
  const once = apply(msg(), [edited()]);
  assert.equal(once.content, 'fixed typo');
  assert.equal(once.editedAt, '2026-12-03T18:01:00Z');
  assert.deepEqual(apply(msg(), [edited(), edited()]), once);
  const later = apply(msg(), [edited(), edited({ stream_id: 60, content: 'again', edited_at: '2026-12-03T18:05:00Z' })]);
  assert.equal(later.content, 'again');
});

test('a replayed edited of a message deleted since is a tombstone', () => {
  const s = apply(msg(), [edited({ content: '', deleted: true })]);
  assert.equal(s.deleted, true);
  assert.equal(s.content, '');
  assert.equal(s.editedAt, null);
});

test('deleted makes a tombstone: no content, no reactions; who, only when not the author', () => {
  const withChips = msg({ reactions: [{ emoji: '👍', count: 2, me: true }] });
  const byAuthor = apply(withChips, [deleted('alice')]);
  assert.equal(byAuthor.deleted, true);
  assert.equal(byAuthor.content, '');
  assert.deepEqual(byAuthor.reactions, []);
  assert.equal(byAuthor.deletedBy, null);
  assert.equal(apply(withChips, [deleted('ALICE')]).deletedBy, null, 'names compare without case');
  assert.equal(apply(withChips, [deleted('mod')]).deletedBy, 'mod');
  assert.equal(tombstoneText(apply(withChips, [deleted('mod')])), 'Message deleted by mod');
});

test('nothing brings a tombstone back: a late edit or reaction changes nothing', () => {
  const gone = apply(msg(), [deleted('alice')]);
  assert.deepEqual(apply(gone, [edited(), reaction('bob', true, 1), deleted('mod')]).content, '');
  assert.deepEqual(apply(gone, [edited(), reaction('bob', true, 1)]), gone);
});

test('reactions: the count is SET from the event, never incremented', () => {
  let s = apply(msg(), [reaction('carol', true, 1)]);
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 1, me: false }]);
  s = apply(s, [reaction('carol', true, 1)]);
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 1, me: false }], 'the same event again: still 1');
  // A replayed event carries the count as it is NOW: 3, though it was the first reaction.
  s = apply(msg(), [reaction('carol', true, 3)]);
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 3, me: false }]);
});

test('reactions: `me` follows the events whose user is me, and only those', () => {
  let s = apply(msg(), [reaction('Bob', true, 1)], 'bob');
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 1, me: true }], 'my reaction (names without case)');
  s = apply(s, [reaction('carol', true, 2)], 'bob');
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 2, me: true }], "someone else's keeps mine");
  s = apply(s, [reaction('bob', false, 1)], 'bob');
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 1, me: false }]);
  s = apply(s, [reaction('carol', false, 0)], 'bob');
  assert.deepEqual(s.reactions, [], 'a count of 0 takes the chip away');
});

test('reactions: a new emoji goes last, the others keep their place', () => {
  const s = apply(msg({ reactions: [{ emoji: '👍', count: 1, me: false }, { emoji: '🎉', count: 2, me: false }] }), [
    reaction('bob', true, 1, ':party_parrot:'),
    reaction('carol', true, 2, '👍'),
  ]);
  assert.deepEqual(s.reactions.map((r) => [r.emoji, r.count]), [['👍', 2], ['🎉', 2], [':party_parrot:', 1]]);
  assert.equal(reactedWith(s, ':party_parrot:'), true);
  assert.equal(reactedWith(s, '👍'), false);
});

test('replay after a reconnect: add, add, remove in order converge to the server state', () => {
  // Replayed entries show the count as it is now (1: carol's), whatever it was then.
  const replay = [reaction('bob', true, 1), reaction('carol', true, 1), reaction('bob', false, 1)];
  const s = apply(msg({ reactions: [{ emoji: '👍', count: 1, me: false }] }), replay, 'bob');
  assert.deepEqual(s.reactions, [{ emoji: '👍', count: 1, me: false }]);
  // And what a page and its replay both saw, applied again, changes nothing.
  assert.deepEqual(apply(s, replay, 'bob'), s);
});

test('excerpts: the first 100 characters, with … when cut, counted in characters not UTF-16 units', () => {
  assert.equal(excerptOf('short'), 'short');
  assert.equal(excerptOf('x'.repeat(EXCERPT_CHARS)), 'x'.repeat(100));
  assert.equal(excerptOf('x'.repeat(101)), `${'x'.repeat(100)}…`);
  const emoji = '😀'.repeat(101);
  assert.equal(excerptOf(emoji), `${'😀'.repeat(100)}…`, 'an emoji is one character');
});

test('a reply quote follows its original: edited, then deleted', () => {
  const original = apply(msg(), [edited({ content: 'y'.repeat(120) })]);
  assert.deepEqual(quoteOf(original), { id: 42, author: 'alice', excerpt: `${'y'.repeat(100)}…`, deleted: false });
  assert.deepEqual(quoteOf(apply(original, [deleted('alice')])), { id: 42, author: 'alice', excerpt: '', deleted: true });
});

test('what the page offers: edit mine, delete mine or as a moderator, nothing on a tombstone', () => {
  const s = msg();
  const as = (o) => allowedActions(s, { mine: false, moderator: false, restricted: null, ...o });
  assert.deepEqual(as({}), { react: true, reply: true, edit: false, delete: false });
  assert.deepEqual(as({ mine: true }), { react: true, reply: true, edit: true, delete: true });
  assert.deepEqual(as({ moderator: true }), { react: true, reply: true, edit: false, delete: true }, "a moderator does not edit others' messages");
  assert.deepEqual(as({ mine: true, restricted: 'muted' }), { react: false, reply: false, edit: false, delete: true }, 'muted, I may still delete my own');
  assert.deepEqual(as({ mine: true, restricted: 'gone' }), { react: false, reply: false, edit: false, delete: false });
  const gone = apply(s, [deleted('alice')]);
  assert.deepEqual(allowedActions(gone, { mine: true, moderator: true, restricted: null }), { react: false, reply: false, edit: false, delete: false });
  const sending = messageState({ user: 'alice', content: 'on its way', ts: '2026-12-03T18:00:00Z' });
  assert.deepEqual(allowedActions(sending, { mine: true, moderator: true, restricted: null }), { react: false, reply: false, edit: false, delete: false }, 'not stored yet');
});
