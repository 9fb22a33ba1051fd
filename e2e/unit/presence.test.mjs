// Who is online, and what notice a change shows.
import test from 'node:test';
import assert from 'node:assert/strict';
import { applyPresence, applyRoster, summarizeNames, typingText } from '../../web/presence.js';

const nobody = () => false;

test('joined: a notice for someone new, none for someone already here', () => {
  const online = new Set(['ann']);
  assert.equal(applyPresence(online, { type: 'joined', room: 'r', user: 'bob' }), 'bob joined the room');
  assert.deepEqual([...online].sort(), ['ann', 'bob']);
  assert.equal(applyPresence(online, { type: 'joined', room: 'r', user: 'bob' }), null);
  assert.equal(online.size, 2);
});

test('left: a notice for someone who was here, none otherwise', () => {
  const online = new Set(['ann', 'bob']);
  assert.equal(applyPresence(online, { type: 'left', room: 'r', user: 'bob' }), 'bob left the room');
  assert.deepEqual([...online], ['ann']);
  assert.equal(applyPresence(online, { type: 'left', room: 'r', user: 'bob' }), null);
});

test('a summary of three arrivals is one notice naming all three', () => {
  const online = new Set(['ann']);
  const { notices, went } = applyRoster(online, { type: 'presence', room: 'r', joined: ['cy', 'di', 'ed'], left: [] }, nobody);
  assert.deepEqual(notices, ['cy, di, ed joined the room']);
  assert.deepEqual(went, []);
  assert.equal(online.size, 4);
});

test('a summary leaves us and users already known out of the notice, but counts them', () => {
  const online = new Set(['ann', 'bob']);
  const isSelf = (u) => u === 'ann';
  const { notices } = applyRoster(online, { type: 'presence', room: 'r', joined: ['ann', 'bob', 'cy'], left: ['zed'] }, isSelf);
  assert.deepEqual(notices, ['cy joined the room']);
  assert.deepEqual([...online].sort(), ['ann', 'bob', 'cy']);
});

test('a summary of departures: one notice, and who went (for their typing)', () => {
  const online = new Set(['ann', 'bob', 'cy', 'di', 'ed']);
  const { notices, went } = applyRoster(online, { type: 'presence', room: 'r', left: ['bob', 'cy', 'di', 'ed'] }, nobody);
  assert.deepEqual(notices, ['bob, cy and 2 others left the room']);
  assert.deepEqual(went, ['bob', 'cy', 'di', 'ed']);
  assert.deepEqual([...online], ['ann']);
});

test('a summary that changes nothing shows nothing', () => {
  const online = new Set(['ann']);
  assert.deepEqual(applyRoster(online, { type: 'presence', room: 'r', joined: ['ann'], left: ['bob'] }, nobody).notices, []);
});

test('names: up to three in full, then "and N others"', () => {
  assert.equal(summarizeNames(['a']), 'a');
  assert.equal(summarizeNames(['a', 'b', 'c']), 'a, b, c');
  assert.equal(summarizeNames(['a', 'b', 'c', 'd']), 'a, b and 2 others');
});

test('typing line', () => {
  assert.equal(typingText([]), '');
  assert.equal(typingText(['bob']), 'bob is typing…');
  assert.equal(typingText(['bob', 'cy']), 'bob and cy are typing…');
  assert.equal(typingText(['bob', 'cy', 'di']), 'Several people are typing…');
});
