// The reaction picker's recently used emoji, kept in localStorage.
import test from 'node:test';
import assert from 'node:assert/strict';
import { COMMON_EMOJI, RECENT_KEY, RECENT_MAX, recentEmoji, rememberEmoji, emojiName } from '../../web/emoji.js';
import { memoryStorage } from './fakes.mjs';

test('about sixteen common emoji, each once, each with a name', () => {
  assert.equal(COMMON_EMOJI.length, 16);
  assert.equal(new Set(COMMON_EMOJI.map(([e]) => e)).size, 16);
  for (const [e, name] of COMMON_EMOJI) assert.ok(e && name && emojiName(e) === name, e);
  assert.equal(emojiName(':party_parrot:'), ':party_parrot:', 'an unknown one is called by itself');
});

test('nothing used yet: no recent ones', () => {
  assert.deepEqual(recentEmoji(memoryStorage()), []);
});

test('the last used comes first, once; the oldest fall off after eight', () => {
  const storage = memoryStorage();
  rememberEmoji(storage, '👍');
  rememberEmoji(storage, '🎉');
  assert.deepEqual(recentEmoji(storage), ['🎉', '👍']);
  rememberEmoji(storage, '👍');
  assert.deepEqual(recentEmoji(storage), ['👍', '🎉'], 'used again: first, not twice');
  for (const e of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) rememberEmoji(storage, `:${e}:`);
  const recent = recentEmoji(storage);
  assert.equal(recent.length, RECENT_MAX);
  assert.equal(recent[0], ':g:');
  assert.ok(!recent.includes('🎉'), 'the oldest went');
});

test('whatever else is stored reads as nothing, or as what is usable of it', () => {
  const storage = memoryStorage();
  storage.setItem(RECENT_KEY, 'not json');
  assert.deepEqual(recentEmoji(storage), []);
  storage.setItem(RECENT_KEY, '{"a":1}');
  assert.deepEqual(recentEmoji(storage), []);
  storage.setItem(RECENT_KEY, JSON.stringify(['👍', 7, null, '👍', '', '🎉']));
  assert.deepEqual(recentEmoji(storage), ['👍', '🎉']);
  assert.deepEqual(rememberEmoji(storage, '🔥'), ['🔥', '👍', '🎉']);
});

test('a storage that refuses to write: the picker just forgets', () => {
  const storage = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); } };
  assert.deepEqual(rememberEmoji(storage, '👍'), ['👍']);
});
