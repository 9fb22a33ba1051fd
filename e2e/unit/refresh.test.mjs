// Silent refresh (web/refresh.js): when it happens, that two tabs never
// spend one refresh token twice, what a 401 and an unreachable server do.
// Each "tab" is a TokenKeeper; tabs of one browser share a Storage and a
// LockManager, and all talk to one fake palaver (fakes.mjs) that ends the
// session when a refresh token is used twice.
import test from 'node:test';
import assert from 'node:assert/strict';
import { TokenKeeper, SessionOver, refreshAt, retryDelay, plan, withLock } from '../../web/refresh.js';
import { sessionFromToken, writeSession, readSession, forgetSession, SESSION_KEY } from '../../web/session.js';
import { storageVault, openVault, LEASE_KEY } from '../../web/vault.js';
import { ApiError } from '../../web/api.js';
import { memoryStorage, fakeLocks, fakeClock, fakeServer, fakeIndexedDB, settle, jwt } from './fakes.mjs';

/** A browser logged in once: its storage and locks, the server, and a way to open tabs. */
function browser({ ttl = 6, locks = fakeLocks(), clock = fakeClock() } = {}) {
  const storage = memoryStorage();
  const server = fakeServer({ ttl, now: clock.now });
  const session = sessionFromToken(server.login(), 'ann', clock.now());
  writeSession(storage, session);
  const tab = (extra = {}) => {
    const events = { renewed: [], ended: [] };
    const keeper = new TokenKeeper({
      session: readSession(storage, clock.now()),
      vault: storageVault(storage),
      locks,
      refresh: (t) => server.refresh(t),
      onrenewed: (s) => events.renewed.push(s),
      onended: (r) => events.ended.push(r),
      now: clock.now,
      timers: clock.timers,
      random: () => 0.5,
      ...extra,
    });
    return { keeper, events };
  };
  return { storage, server, clock, tab, locks };
}

test('a token is refreshed ahead of the server warning: at 40 % of a short life, 75 s before a long one ends', () => {
  const short = sessionFromToken({ access_token: 't', expires_in: 6 }, 'ann', 0);
  assert.equal(refreshAt(short), 2_400, 'the server warns at half the life: 3 s');
  const long = sessionFromToken({ access_token: 't', expires_in: 1800 }, 'ann', 0);
  assert.equal(refreshAt(long), 1_800_000 - 75_000, 'the server warns 60 s before expiry');
  const minute = sessionFromToken({ access_token: 't', expires_in: 60 }, 'ann', 0);
  assert.ok(refreshAt(minute) < 30_000, 'ahead of the warning at 30 s');
});

test('the keeper refreshes when due, stores the new pair, and goes on doing so', async () => {
  const { storage, server, clock, tab } = browser({ ttl: 6 });
  const { keeper, events } = tab();
  const first = keeper.session;
  keeper.schedule();
  await clock.advance(2_399);
  assert.equal(server.refreshes, 0, 'not before it is due');
  await clock.advance(1);
  assert.equal(server.refreshes, 1);
  assert.equal(events.renewed.length, 1);
  const second = readSession(storage, clock.now());
  assert.notEqual(second.token, first.token);
  assert.notEqual(second.refreshToken, first.refreshToken, 'the refresh token rotated');
  assert.equal(keeper.session.token, second.token);
  assert.equal(second.username, 'ann');
  // Chatting across ten lifetimes: one refresh per 2.4 s, never logged out.
  await clock.advance(60_000);
  assert.equal(server.refreshes, 1 + 25);
  assert.deepEqual(events.ended, []);
  assert.equal(server.ended, false);
  assert.ok(keeper.session.expiresAt > clock.now(), 'the token in hand is always good');
});

test('two tabs due at once: one refresh, both get the new token', async () => {
  const { storage, server, clock, tab } = browser();
  const a = tab();
  const b = tab();
  const old = a.keeper.session.token;
  clock.jump(2_500);
  const [ta, tb] = await Promise.all([a.keeper.renew(), b.keeper.renew()]);
  assert.equal(server.refreshes, 1, 'the second tab took the stored token');
  assert.equal(ta, tb);
  assert.notEqual(ta, old);
  assert.equal(readSession(storage, clock.now()).token, ta);
  assert.equal(server.ended, false);
});

test('without any lock, the same two tabs would end the session (what the lock prevents)', async () => {
  const noLock = { request: (name, options, fn) => fn() };
  const { server, clock, tab } = browser({ locks: noLock });
  const a = tab();
  const b = tab();
  clock.jump(2_500);
  const results = await Promise.allSettled([a.keeper.renew(), b.keeper.renew()]);
  assert.equal(server.refreshes, 2);
  assert.equal(server.ended, true, 'the refresh token was presented twice');
  assert.ok(results.some((r) => r.status === 'rejected' && r.reason instanceof SessionOver));
});

for (const [kind, vaultOf] of [
  ['an IndexedDB lease', (storage) => openVault(fakeIndexedDB.shared, storage)],
  ['a localStorage lease', (storage) => storageVault(storage)],
]) {
  test(`without navigator.locks, ${kind} keeps three tabs apart`, async () => {
    // Real time here: the localStorage lease waits for other tabs' claims to land.
    fakeIndexedDB.shared = fakeIndexedDB();
    const storage = memoryStorage();
    const server = fakeServer({ ttl: 6 });
    await vaultOf(storage).write(sessionFromToken(server.login(), 'ann', Date.now() - 3_000));
    const tab = () => {
      const vault = vaultOf(storage);
      return vault.read().then((session) => new TokenKeeper({ session, vault, locks: null, refresh: (t) => server.refresh(t), timers: { setTimeout: () => 0, clearTimeout() {} } }));
    };
    const tabs = await Promise.all([tab(), tab(), tab()]);
    const tokens = await Promise.all(tabs.map((k) => k.renew()));
    assert.equal(server.refreshes, 1);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(server.ended, false);
    assert.equal(storage.getItem(LEASE_KEY), null, 'the lease is let go');
    const idbLease = fakeIndexedDB.shared.stores.get('kv')?.get('refresh-lease');
    assert.ok(!idbLease, 'the lease is let go');
  });

  test(`${kind} of a tab that died is taken over once it runs out`, async () => {
    fakeIndexedDB.shared = fakeIndexedDB();
    const storage = memoryStorage();
    let now = 1_000;
    const lease = vaultOf(storage);
    assert.equal(await lease.claim('dead tab', 20_000, now), true);
    assert.equal(await lease.claim('me', 20_000, now), false, 'held');
    const sleep = async (ms) => {
      now += ms;
    };
    const ran = await withLock(async () => 'ran', { locks: null, lease, owner: 'me', now: () => now, sleep });
    assert.equal(ran, 'ran');
    assert.ok(now >= 20_000, 'it waited for the lease to run out');
    assert.equal(await lease.claim('another', now + 1_000, now), true, 'let go after');
  });
}

test('a tab whose token is older takes the one another tab stored, without a request', async () => {
  const { server, clock, tab } = browser();
  const a = tab();
  const b = tab();
  clock.jump(2_500);
  const fresh = await a.keeper.renew();
  const taken = await b.keeper.renew();
  assert.equal(taken, fresh);
  assert.equal(server.refreshes, 1);
  assert.equal(b.events.renewed.length, 1, 'the tab is told, to renew its socket');
});

test('asked again meanwhile, a tab refreshes once', async () => {
  const { server, clock, tab } = browser();
  const { keeper } = tab();
  clock.jump(2_500);
  const tokens = await Promise.all([keeper.renew(), keeper.renew(), keeper.renew()]);
  assert.equal(server.refreshes, 1);
  assert.equal(new Set(tokens).size, 1);
  // A token rejected by a call that started before the renewal: the new one, no request.
  assert.equal(await keeper.renew('an older token'), tokens[0]);
  assert.equal(server.refreshes, 1);
});

test('a 401 for a token that looks fresh (the server said no): refreshed at once', async () => {
  const { server, tab } = browser();
  const { keeper } = tab();
  const old = keeper.session.token;
  const fresh = await keeper.renew(old);
  assert.notEqual(fresh, old);
  assert.equal(server.refreshes, 1);
});

test('refresh answers 401: the session is over, said once, storage cleared', async () => {
  const { storage, server, clock, tab } = browser();
  const { keeper, events } = tab();
  server.ended = true; // e.g. logged out everywhere from another device
  clock.jump(2_500);
  await assert.rejects(keeper.renew(), (err) => err instanceof SessionOver && err.status === 401 && err.reason === 'expired');
  assert.deepEqual(events.ended, ['expired']);
  assert.equal(storage.getItem(SESSION_KEY), null);
  // Afterwards: no request, no timer, no second notice.
  await assert.rejects(keeper.renew(), SessionOver);
  assert.equal(server.refreshes, 1);
  assert.equal(clock.pending(), 0);
  assert.deepEqual(events.ended, ['expired']);
});

test('an unreachable server is tried again with backoff; the user stays logged in', async () => {
  const { server, clock, tab } = browser({ ttl: 60 });
  const { keeper, events } = tab();
  server.failNext = 2;
  keeper.schedule();
  await clock.advance(refreshAt(keeper.session) - clock.now());
  assert.equal(server.refreshes, 1);
  assert.equal(clock.nextAt() - clock.now(), retryDelay(0, () => 0.5), 'next try in 1 s');
  await clock.advance(1_000);
  assert.equal(server.refreshes, 2);
  assert.equal(clock.nextAt() - clock.now(), retryDelay(1, () => 0.5), 'then 2 s');
  await clock.advance(2_000);
  assert.equal(server.refreshes, 3);
  assert.equal(events.renewed.length, 1);
  assert.deepEqual(events.ended, []);
  assert.equal(retryDelay(10, () => 0.5), 30_000, 'at most 30 s apart');
});

test('another tab logged out: this one ends too, saying so', async () => {
  const { storage, server, clock, tab } = browser();
  const { keeper, events } = tab();
  forgetSession(storage, 'logout');
  clock.jump(2_500);
  await assert.rejects(keeper.renew(), SessionOver);
  assert.deepEqual(events.ended, ['logout']);
  assert.equal(server.refreshes, 0);
});

test('another login replaced this session: this tab ends, the new session stays', async () => {
  const { storage, clock, tab } = browser();
  const { keeper, events } = tab();
  const other = { token: jwt({ sid: 'another' }), refreshToken: 'x', username: 'ann', expiresAt: clock.now() + 6_000, lifetime: 6_000 };
  writeSession(storage, other);
  clock.jump(2_500);
  await assert.rejects(keeper.renew(), SessionOver);
  assert.deepEqual(events.ended, ['ended']);
  assert.deepEqual(readSession(storage, clock.now()), other);
});

test('a session with no refresh token (an older server) ends when its token does', async () => {
  const { storage, clock } = browser();
  const events = [];
  const session = sessionFromToken({ access_token: 't', expires_in: 60 }, 'ann', clock.now());
  writeSession(storage, session);
  const keeper = new TokenKeeper({ session, vault: storageVault(storage), locks: fakeLocks(), refresh: () => assert.fail('no refresh'), onended: (r) => events.push(r), now: clock.now, timers: clock.timers });
  keeper.schedule();
  await clock.advance(59_999);
  assert.deepEqual(events, []);
  await clock.advance(1);
  assert.deepEqual(events, ['expired']);
});

test('timers that ran late (a hidden tab, a laptop asleep): check() refreshes at once', async () => {
  const { server, clock, tab } = browser({ ttl: 1800 });
  const { keeper } = tab();
  keeper.schedule();
  clock.jump(1_790_000); // asleep: the timer has not run
  keeper.check();
  await clock.advance(0);
  assert.equal(server.refreshes, 1);
  assert.ok(keeper.session.expiresAt > clock.now() + 1_700_000);
  keeper.check();
  await clock.advance(0);
  assert.equal(server.refreshes, 1, 'not due again');
  assert.ok(keeper.stale === false);
});

test('plan: adopt what another tab stored, refresh with the newest refresh token, or give up', () => {
  const now = 10_000;
  const mine = { token: jwt({ sid: 1, n: 1 }), refreshToken: 'r1', username: 'ann', expiresAt: now + 1_000, lifetime: 6_000 };
  const rotated = { token: jwt({ sid: 1, n: 2 }), refreshToken: 'r2', username: 'ann', expiresAt: now + 6_000, lifetime: 6_000 };
  assert.deepEqual(plan(rotated, mine, mine.token, now), { kind: 'adopt', session: rotated });
  assert.deepEqual(plan(mine, mine, mine.token, now), { kind: 'refresh', refreshToken: 'r1' });
  // Rotated long ago, due itself: refreshed, with its (the newest) refresh token.
  assert.deepEqual(plan({ ...rotated, expiresAt: now + 1_000 }, mine, mine.token, now), { kind: 'refresh', refreshToken: 'r2' });
  assert.deepEqual(plan(null, mine, mine.token, now), { kind: 'ended' });
  assert.deepEqual(plan({ ...rotated, token: jwt({ sid: 2 }) }, mine, mine.token, now), { kind: 'ended' });
  assert.deepEqual(plan({ ...mine, refreshToken: null }, mine, mine.token, now), { kind: 'ended' });
});

test('SessionOver is an ApiError 401 with the notice for its reason', () => {
  const err = new SessionOver('expired');
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 401);
  assert.match(err.detail, /session has expired/);
  assert.match(new SessionOver('ended').detail, /session has ended/);
});

test('a refresh that failed lets the lock go; the next tab refreshes normally', async () => {
  const { server, clock, tab, locks } = browser();
  const a = tab({ refresh: () => Promise.reject(new ApiError(0, 'Cannot reach the server.')) });
  const b = tab();
  clock.jump(2_500);
  await assert.rejects(a.keeper.renew(), (err) => err.status === 0);
  a.keeper.stop();
  assert.ok(await b.keeper.renew());
  assert.equal(server.refreshes, 1);
  assert.equal(locks.requests, 2);
  await settle();
});
