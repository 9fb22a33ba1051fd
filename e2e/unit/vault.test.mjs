// Where the session is kept (web/vault.js), and why not in localStorage alone.
import test from 'node:test';
import assert from 'node:assert/strict';
import { openVault, storageVault } from '../../web/vault.js';
import { TokenKeeper } from '../../web/refresh.js';
import { sessionFromToken, writeSession, readSession, SESSION_KEY, ENDED_KEY } from '../../web/session.js';
import { memoryStorage, fakeIndexedDB, laggyStorages, fakeLocks, fakeServer, jwt } from './fakes.mjs';

const session = (sid, extra = {}) => ({ token: jwt({ sid }), refreshToken: `r${sid}`, username: 'ann', expiresAt: Date.now() + 60_000, lifetime: 60_000, ...extra });

test('the session goes to IndexedDB and to localStorage; it is read back from IndexedDB', async () => {
  const idb = fakeIndexedDB();
  const storage = memoryStorage();
  const vault = openVault(idb, storage);
  assert.equal(await vault.read(), null);
  const s = session(1);
  await vault.write(s);
  assert.deepEqual(idb.stores.get('kv').get('session'), s);
  assert.deepEqual(readSession(storage), s, 'the copy for boot and for the other tabs');
  storage.setItem(SESSION_KEY, JSON.stringify(session(9))); // a stale copy does not count
  assert.deepEqual(await vault.read(), s);
});

test('a session from before the vault (localStorage only) is still read', async () => {
  const storage = memoryStorage();
  writeSession(storage, session(1));
  assert.deepEqual(await openVault(fakeIndexedDB(), storage).read(), session(1, { expiresAt: readSession(storage).expiresAt }));
});

test('forgetting drops both copies and says why; a newer login stays', async () => {
  const idb = fakeIndexedDB();
  const storage = memoryStorage();
  const vault = openVault(idb, storage);
  await vault.write(session(2));
  await vault.forget('ended', session(1));
  assert.equal((await vault.read()).token, session(2).token, 'not ours to drop');
  await vault.forget('logout', session(2));
  assert.equal(await vault.read(), null, 'logged out: not the localStorage copy either');
  assert.equal(storage.getItem(SESSION_KEY), null);
  assert.equal(storage.getItem(ENDED_KEY), 'logout');
  assert.equal(vault.endedReason(), 'logout');
});

test('no IndexedDB: localStorage alone', async () => {
  const storage = memoryStorage();
  const vault = openVault(undefined, storage);
  await vault.write(session(1));
  assert.equal((await vault.read()).token, session(1).token);
  const broken = { open: () => { throw new Error('SecurityError'); } };
  const warn = console.warn;
  console.warn = () => {};
  try {
    const v2 = openVault(broken, storage);
    assert.equal((await v2.read()).token, session(1).token);
  } finally {
    console.warn = warn;
  }
});

// Two tabs whose localStorage copies lag behind each other, as Chromium's do.
async function twoLaggyTabs(vaultFor, shared = null) {
  const server = fakeServer({ ttl: 6 });
  const [s1, s2] = laggyStorages(2);
  const start = sessionFromToken(server.login(), 'ann', Date.now() - 3_000);
  for (const storage of [s1, s2, shared]) if (storage) writeSession(storage, start);
  const locks = fakeLocks();
  const keeper = (storage) =>
    new TokenKeeper({ session: start, vault: vaultFor(storage), locks, refresh: (t) => server.refresh(t), timers: { setTimeout: () => 0, clearTimeout() {} } });
  const results = await Promise.allSettled([keeper(s1).renew(), keeper(s2).renew()]);
  return { server, results };
}

test('with localStorage alone, the tab that gets the lock next can read the spent refresh token (what the vault is for)', async () => {
  const { server } = await twoLaggyTabs((storage) => storageVault(storage));
  assert.equal(server.ended, true, 'the second tab spent it again');
});

test('with the vault, the tab that gets the lock next sees the new pair', async () => {
  const shared = memoryStorage(); // IndexedDB: one store every tab sees alike
  const { server, results } = await twoLaggyTabs(() => storageVault(shared), shared);
  assert.equal(server.ended, false);
  assert.equal(server.refreshes, 1);
  assert.ok(results.every((r) => r.status === 'fulfilled'));
  assert.equal(results[0].value, results[1].value);
});
