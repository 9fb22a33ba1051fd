// Room names from the address, the first room, the title and badges.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseRoomHash, firstRoom, unreadLabel, pageTitle } from '../../web/rooms.js';

test('the address names a room only if it is a valid room name', () => {
  assert.equal(parseRoomHash('#python'), 'python');
  assert.equal(parseRoomHash('#book-club_2'), 'book-club_2');
  assert.equal(parseRoomHash(''), null);
  assert.equal(parseRoomHash('#'), null);
  assert.equal(parseRoomHash('#Python'), null);
  assert.equal(parseRoomHash('#a%20b'), null);
  assert.equal(parseRoomHash(`#${'a'.repeat(65)}`), null);
  assert.equal(parseRoomHash('#%E0%A4%A'), null, 'a broken escape is no room, not an exception');
});

test('the first room: the one wanted if it exists, else general, else any', () => {
  assert.equal(firstRoom('python', ['general', 'python']), 'python');
  assert.equal(firstRoom('gone', ['general', 'python']), 'general');
  assert.equal(firstRoom('gone', ['python', 'rust']), 'python');
  assert.equal(firstRoom('gone', []), undefined);
});

test('unread badge and page title', () => {
  assert.equal(unreadLabel(1), '1');
  assert.equal(unreadLabel(99), '99');
  assert.equal(unreadLabel(100), '99+');
  assert.equal(pageTitle(0, null), 'palaver');
  assert.equal(pageTitle(0, 'python'), '#python · palaver');
  assert.equal(pageTitle(3, 'python'), '(3) #python · palaver');
  assert.equal(pageTitle(1, 'dm-0123456789abcdef01234567', 'bob, cy'), '(1) bob, cy · palaver', 'a direct room goes by its names');
});
