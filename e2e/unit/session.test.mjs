// The stored session and what a 401 does.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readSession, writeSession, forgetSession, sessionFromToken, handleApiError, whenUnauthorized } from '../../web/session.js';
import { ApiError } from '../../web/api.js';

function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    get size() {
      return m.size;
    },
  };
}

test('a session written is read back while it is good', () => {
  const storage = memoryStorage();
  const session = sessionFromToken({ access_token: 'tok', token_type: 'bearer', expires_in: 1800 }, 'ann', 1_000_000);
  assert.deepEqual(session, { token: 'tok', username: 'ann', expiresAt: 1_000_000 + 1_800_000 });
  writeSession(storage, session);
  assert.deepEqual(readSession(storage, 1_000_000), session);
  forgetSession(storage);
  assert.equal(readSession(storage, 1_000_000), null);
});

test('a session about to expire, or unreadable, is dropped', () => {
  const storage = memoryStorage();
  writeSession(storage, { token: 't', username: 'ann', expiresAt: 10_000 });
  assert.equal(readSession(storage, 6_000), null);
  assert.equal(storage.size, 0, 'and removed from storage');
  storage.setItem('palaver.session', '{not json');
  assert.equal(readSession(storage), null);
  storage.setItem('palaver.session', JSON.stringify({ token: 5, expiresAt: Date.now() + 60_000 }));
  assert.equal(readSession(storage), null);
});

test('no expires_in: thirty minutes', () => {
  assert.equal(sessionFromToken({ access_token: 't' }, 'ann', 0).expiresAt, 30 * 60 * 1000);
});

test('a 401 logs out; other errors are left to the caller', () => {
  let expired = 0;
  whenUnauthorized(() => expired++);
  assert.equal(handleApiError(new ApiError(401, 'Could not validate credentials')), true);
  assert.equal(expired, 1);
  assert.equal(handleApiError(new ApiError(409, 'Room exists')), false);
  assert.equal(handleApiError(new Error('boom')), false);
  assert.equal(expired, 1);
});
