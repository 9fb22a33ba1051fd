// The stored session and what a 401 does.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  readSession,
  writeSession,
  forgetSession,
  endedReason,
  sessionFromToken,
  sessionId,
  sameSession,
  handleApiError,
  whenUnauthorized,
  SESSION_KEY,
} from '../../web/session.js';
import { ApiError } from '../../web/api.js';
import { memoryStorage, jwt } from './fakes.mjs';

test('a session written is read back while it is good', () => {
  const storage = memoryStorage();
  const session = sessionFromToken({ access_token: 'tok', token_type: 'bearer', expires_in: 1800, refresh_token: 'r1' }, 'ann', 1_000_000);
  assert.deepEqual(session, { token: 'tok', refreshToken: 'r1', username: 'ann', expiresAt: 1_000_000 + 1_800_000, lifetime: 1_800_000 });
  writeSession(storage, session);
  assert.deepEqual(readSession(storage, 1_000_000), session);
  forgetSession(storage);
  assert.equal(readSession(storage, 1_000_000), null);
});

test('an expired access token is kept while a refresh token can replace it', () => {
  const storage = memoryStorage();
  writeSession(storage, { token: 't', refreshToken: 'r', username: 'ann', expiresAt: 10_000, lifetime: 6000 });
  assert.equal(readSession(storage, 60_000).refreshToken, 'r');
});

test('a session about to expire with no refresh token, or unreadable, is dropped', () => {
  const storage = memoryStorage();
  writeSession(storage, { token: 't', username: 'ann', expiresAt: 10_000 });
  assert.equal(readSession(storage, 6_000), null);
  assert.equal(storage.size, 0, 'and removed from storage');
  storage.setItem(SESSION_KEY, '{not json');
  assert.equal(readSession(storage), null);
  storage.setItem(SESSION_KEY, JSON.stringify({ token: 5, username: 'ann', expiresAt: Date.now() + 60_000 }));
  assert.equal(readSession(storage), null);
});

test('no expires_in: thirty minutes; no refresh_token (an older server): none', () => {
  const s = sessionFromToken({ access_token: 't' }, 'ann', 0);
  assert.equal(s.expiresAt, 30 * 60 * 1000);
  assert.equal(s.refreshToken, null);
});

test('the session id comes from the JWT; sessions are told apart by it', () => {
  const a1 = { token: jwt({ sub: 'ann', sid: 12 }), username: 'ann' };
  const a2 = { token: jwt({ sub: 'ann', sid: 12, n: 2 }), username: 'ann' };
  const b = { token: jwt({ sub: 'ann', sid: 13 }), username: 'ann' };
  assert.equal(sessionId(a1.token), '12');
  assert.equal(sessionId('not.a.token'), null);
  assert.equal(sessionId('nodots'), null);
  assert.ok(sameSession(a1, a2), 'rotated tokens, one session');
  assert.ok(!sameSession(a1, b), 'a second login of the same user');
  // Tokens without a session id: the username decides.
  assert.ok(sameSession({ token: 'x', username: 'Ann' }, { token: 'y', username: 'ann' }));
  assert.ok(!sameSession({ token: 'x', username: 'ann' }, { token: 'y', username: 'bob' }));
});

test('forgetting says why for the other tabs, and never drops a newer login', () => {
  const storage = memoryStorage();
  const mine = { token: jwt({ sid: 1 }), username: 'ann', expiresAt: 9e12 };
  const newer = { token: jwt({ sid: 2 }), username: 'ann', expiresAt: 9e12 };
  writeSession(storage, newer);
  forgetSession(storage, 'ended', mine);
  assert.deepEqual(readSession(storage), newer, 'another login stays');
  forgetSession(storage, 'logout-all', newer);
  assert.equal(readSession(storage), null);
  assert.equal(endedReason(storage), 'logout-all');
  storage.setItem('palaver.ended', 'nonsense');
  assert.equal(endedReason(storage), null);
});

test('a 401 that reached a caller ends the session; other errors are left to the caller', () => {
  let expired = 0;
  whenUnauthorized(() => expired++);
  assert.equal(handleApiError(new ApiError(401, 'Could not validate credentials')), true);
  assert.equal(expired, 1);
  assert.equal(handleApiError(new ApiError(409, 'Room exists')), false);
  assert.equal(handleApiError(new Error('boom')), false);
  assert.equal(expired, 1);
});
