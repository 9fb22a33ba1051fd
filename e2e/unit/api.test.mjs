// A 401 from an HTTP call: one fresh token, one more try.
import test from 'node:test';
import assert from 'node:assert/strict';
import { withRenewal, ApiError, api, useTokens } from '../../web/api.js';

function provider(tokens) {
  const p = {
    token: tokens[0],
    renewals: [],
    current: () => p.token,
    async renew(rejected) {
      p.renewals.push(rejected);
      const next = tokens[p.renewals.length];
      if (!next) throw new ApiError(401, 'Your session has expired. Please log in again.');
      p.token = next;
      return next;
    },
  };
  return p;
}

test('a 401 renews the token and tries again, once', async () => {
  const p = provider(['old', 'new']);
  const used = [];
  const result = await withRenewal(async (token) => {
    used.push(token);
    if (token === 'old') throw new ApiError(401, 'Token expired');
    return 'ok';
  }, p);
  assert.equal(result, 'ok');
  assert.deepEqual(used, ['old', 'new']);
  assert.deepEqual(p.renewals, ['old'], 'the rejected token is named');
});

test('a second 401 reaches the caller: no loop', async () => {
  const p = provider(['old', 'new', 'newer']);
  let calls = 0;
  await assert.rejects(
    withRenewal(async () => {
      calls += 1;
      throw new ApiError(401, 'Session ended');
    }, p),
    (err) => err.status === 401,
  );
  assert.equal(calls, 2);
  assert.equal(p.renewals.length, 1);
});

test('no fresh token to be had: the renewal failure reaches the caller', async () => {
  const p = provider(['old']);
  await assert.rejects(
    withRenewal(async () => {
      throw new ApiError(401, 'Token expired');
    }, p),
    /session has expired/,
  );
});

test('other failures are not retried', async () => {
  const p = provider(['old', 'new']);
  for (const status of [0, 403, 404, 422, 429, 500]) {
    let calls = 0;
    await assert.rejects(
      withRenewal(async () => {
        calls += 1;
        throw new ApiError(status, 'no');
      }, p),
      (err) => err.status === status,
    );
    assert.equal(calls, 1, `status ${status}`);
  }
  assert.equal(p.renewals.length, 0);
});

test('the calls send the token, the JSON bodies the server asks for, and retry a 401 through fetch', async () => {
  const seen = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (path, init) => {
    seen.push({ path, method: init.method, auth: init.headers.Authorization, body: init.body });
    if (init.headers.Authorization === 'Bearer old') return new Response(JSON.stringify({ detail: 'Token expired' }), { status: 401 });
    if (path === '/users/me/password') return new Response(JSON.stringify({ detail: 'Current password is wrong' }), { status: 403 });
    return new Response(null, { status: 204 });
  };
  try {
    const p = provider(['old', 'new']);
    useTokens(p);
    assert.equal(await api.logout(), null);
    assert.deepEqual(seen.map((s) => [s.method, s.path, s.auth]), [
      ['POST', '/logout', 'Bearer old'],
      ['POST', '/logout', 'Bearer new'],
    ]);
    seen.length = 0;
    await assert.rejects(api.changePassword('wrong', 'new password 1'), (err) => err.status === 403 && err.detail === 'Current password is wrong');
    assert.deepEqual(JSON.parse(seen[0].body), { current_password: 'wrong', new_password: 'new password 1' });
    seen.length = 0;
    await api.refresh('r1');
    assert.deepEqual(seen, [{ path: '/token/refresh', method: 'POST', auth: undefined, body: '{"refresh_token":"r1"}' }]);
    seen.length = 0;
    await api.endSession(12);
    await api.logoutAll();
    assert.deepEqual(seen.map((s) => [s.method, s.path]), [
      ['DELETE', '/users/me/sessions/12'],
      ['POST', '/logout/all'],
    ]);
  } finally {
    globalThis.fetch = realFetch;
    useTokens(null);
  }
});
