import test from 'node:test';
import assert from 'node:assert/strict';
import { sameUser, uuid } from '../../web/state.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('usernames compare without case', () => {
  assert.equal(sameUser('Ann', 'ann'), true);
  assert.equal(sameUser('ann', 'anne'), false);
});

test('client ids are v4 UUIDs, with or without crypto.randomUUID', () => {
  assert.match(uuid(), V4);
  const noRandomUuid = { getRandomValues: (b) => globalThis.crypto.getRandomValues(b) };
  const ids = new Set(Array.from({ length: 100 }, () => uuid(noRandomUuid)));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, V4);
  const zeros = { getRandomValues: (b) => b };
  assert.equal(uuid(zeros), '00000000-0000-4000-8000-000000000000');
});
