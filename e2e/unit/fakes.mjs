// Test doubles for the unit tests of the session and refresh logic: a
// Storage in memory, a LockManager, a clock with timers, and a palaver that
// rotates refresh tokens and ends the session when one is used twice, as
// docs/protocol.md says the real one does.
import { ApiError } from '../../web/api.js';

export function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    get size() {
      return m.size;
    },
    keys: () => [...m.keys()],
  };
}

/** navigator.locks for one name: every request runs after the one before it ended. */
export function fakeLocks() {
  let tail = Promise.resolve();
  const locks = {
    requests: 0,
    request(name, options, fn) {
      locks.requests += 1;
      const run = tail.then(() => fn());
      tail = run.catch(() => {});
      return run;
    },
  };
  return locks;
}

/** A JWT-shaped token carrying a session id (the signature is not looked at by the client). */
export function jwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;
}

/** A clock whose timers run when the test moves time on. */
export function fakeClock(start = 1_000_000) {
  let now = start;
  let seq = 0;
  const timers = new Map();
  return {
    now: () => now,
    timers: {
      setTimeout(fn, delay = 0) {
        seq += 1;
        timers.set(seq, { fn, at: now + Math.max(0, delay) });
        return seq;
      },
      clearTimeout(id) {
        timers.delete(id);
      },
    },
    /** The time the next timer is due, or null. */
    nextAt() {
      let at = null;
      for (const t of timers.values()) if (at === null || t.at < at) at = t.at;
      return at;
    },
    pending: () => timers.size,
    /** Moves time on by ms, running each timer that comes due (and what it awaits) in order. */
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        let next = null;
        for (const [id, t] of timers) if (t.at <= end && (next === null || t.at < timers.get(next).at)) next = id;
        if (next === null) break;
        const t = timers.get(next);
        timers.delete(next);
        now = t.at;
        t.fn();
        await settle();
      }
      now = end;
      await settle();
    },
    /** Time jumps with no timer running (a laptop asleep). */
    jump(ms) {
      now += ms;
    },
  };
}

/** Lets every promise that can settle do so. */
export async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** POST /token and /token/refresh of one user's sessions. */
export function fakeServer({ ttl = 6, now = Date.now, sid = '7' } = {}) {
  let n = 0;
  const tokens = new Map(); // refresh token -> 'live' | 'used'
  const server = {
    refreshes: 0,
    ended: false,
    failNext: 0, // the next refreshes fail as an unreachable server's do
    login() {
      return server.issue();
    },
    issue() {
      n += 1;
      const refresh = `refresh-${n}`;
      tokens.set(refresh, 'live');
      return { access_token: jwt({ sub: 'ann', sid, n, exp: Math.floor(now() / 1000) + ttl }), token_type: 'bearer', expires_in: ttl, refresh_token: refresh };
    },
    async refresh(refreshToken) {
      server.refreshes += 1;
      await new Promise((r) => setImmediate(r));
      if (server.failNext > 0) {
        server.failNext -= 1;
        throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
      }
      if (server.ended) throw new ApiError(401, 'Session ended');
      const state = tokens.get(refreshToken);
      if (state === 'used') {
        // A refresh token presented twice: taken for stolen, the whole session ends.
        server.ended = true;
        throw new ApiError(401, 'Refresh token reused; session ended');
      }
      if (state !== 'live') throw new ApiError(401, 'Invalid refresh token');
      tokens.set(refreshToken, 'used');
      return server.issue();
    },
  };
  return server;
}

/**
 * localStorage as Chromium gives it to several tabs: each tab reads its own
 * copy, and hears of another tab's write only `lag` ms later.
 */
export function laggyStorages(count, lag = 5) {
  const tabs = Array.from({ length: count }, () => memoryStorage());
  return tabs.map((mine) => ({
    getItem: mine.getItem,
    setItem(k, v) {
      mine.setItem(k, v);
      for (const other of tabs) if (other !== mine) setTimeout(() => other.setItem(k, v), lag);
    },
    removeItem(k) {
      mine.removeItem(k);
      for (const other of tabs) if (other !== mine) setTimeout(() => other.removeItem(k), lag);
    },
  }));
}

/**
 * Just enough IndexedDB for web/vault.js: one database, object stores of
 * keys and values, and transactions that run one after another (as real
 * readwrite transactions on one store do, across every tab).
 */
export function fakeIndexedDB() {
  const stores = new Map();
  const later = (fn) => setImmediate(fn);
  const request = () => ({ onsuccess: null, onerror: null, result: undefined });
  let chain = Promise.resolve();
  const db = {
    createObjectStore(name) {
      stores.set(name, new Map());
    },
    transaction(name, mode = 'readonly') {
      const data = stores.get(name);
      const tx = { oncomplete: null, onerror: null, onabort: null, pending: 0 };
      const before = chain;
      let finished;
      chain = new Promise((r) => {
        finished = r;
      });
      const finish = () => {
        tx.pending -= 1;
        if (tx.pending === 0) {
          later(() => {
            tx.oncomplete?.();
            finished();
          });
        }
      };
      const op = (run) => {
        const r = request();
        tx.pending += 1;
        before.then(() =>
          later(() => {
            r.result = run();
            r.onsuccess?.();
            finish();
          }),
        );
        return r;
      };
      tx.objectStore = () => ({
        get: (key) => op(() => (data.has(key) ? structuredClone(data.get(key)) : undefined)),
        put: (value, key) => {
          if (mode !== 'readwrite') throw new Error('ReadOnlyError');
          return op(() => {
            data.set(key, structuredClone(value));
            return key;
          });
        },
      });
      return tx;
    },
    close() {},
  };
  return {
    db,
    stores,
    open() {
      const r = request();
      later(() => {
        r.result = db;
        if (!stores.size) r.onupgradeneeded?.();
        r.onsuccess?.();
      });
      return r;
    },
  };
}
