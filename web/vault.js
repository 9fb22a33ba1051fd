// Where the session is kept, for refresh.js to read under its lock; and
// the lease that stands in for that lock where navigator.locks is missing.
//
// localStorage alone is not enough for the session: Chromium caches it in
// each tab's renderer and tells the other tabs of a write asynchronously,
// so a tab that gets the refresh lock a moment after another tab refreshed
// can still read the spent refresh token, and spending it again ends the
// session. (e2e scenario 9 saw exactly that.) A committed IndexedDB write,
// on the other hand, is seen by the next transaction of every tab. So the
// vault keeps the session in IndexedDB, and a copy in localStorage for what
// must be synchronous or cross-tab: the read at boot and the `storage`
// events that tell the other tabs about a login or a logout.
//
// For the same reason the lease is claimed in one IndexedDB transaction
// (read it, take it if free): two tabs cannot both get it. Where IndexedDB
// cannot be opened, localStorage stands in for both, less strictly.

import { endedReason, forgetSession, isUsable, readSession, sameSession, writeSession } from './session.js';

const DB = 'palaver';
const STORE = 'kv';
const SESSION = 'session';
const LEASE = 'refresh-lease';
export const LEASE_KEY = 'palaver.refresh.lease';
/** The localStorage lease: how long a claim is given to land before it counts. */
const LEASE_SETTLE = 50;

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

function validLease(lease) {
  return lease && typeof lease.owner === 'string' && typeof lease.until === 'number' ? lease : null;
}

/** A lease can be taken when nobody holds it, its holder's time ran out, or it is ours. */
function free(lease, owner, now) {
  return !validLease(lease) || lease.until <= now || lease.owner === owner;
}

/** The vault on localStorage alone (the unit tests, and browsers without IndexedDB). */
export function storageVault(storage, { sleep = wait } = {}) {
  const readLease = () => {
    try {
      return validLease(JSON.parse(storage.getItem(LEASE_KEY) || 'null'));
    } catch {
      return null;
    }
  };
  return {
    async read(now = Date.now()) {
      return readSession(storage, now);
    },
    async write(session) {
      writeSession(storage, session);
    },
    async forget(reason, mine) {
      forgetSession(storage, reason, mine);
    },
    endedReason: () => endedReason(storage),
    /**
     * A tab writes its claim, waits a moment, and holds the lease only if
     * its claim is still the one stored (the last writer wins). Two tabs
     * claiming within a few milliseconds of each other could both win.
     */
    async claim(owner, until, now) {
      if (!free(readLease(), owner, now)) return false;
      storage.setItem(LEASE_KEY, JSON.stringify({ owner, until }));
      await sleep(LEASE_SETTLE);
      return readLease()?.owner === owner;
    },
    async release(owner) {
      if (readLease()?.owner === owner) storage.removeItem(LEASE_KEY);
    },
  };
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Reads `key` in one transaction, and lets use(store, value) write in the
 * same one; resolves with what use returned (or the value) once committed:
 * only then do other tabs see the write.
 */
function transaction(db, mode, key, use) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const store = tx.objectStore(STORE);
    let result;
    const get = store.get(key);
    get.onsuccess = () => {
      result = use ? use(store, get.result) : get.result;
    };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

/** The vault on IndexedDB, with localStorage as its copy (and as its stand-in if IndexedDB fails). */
export function openVault(indexedDB, storage) {
  const fallback = storageVault(storage);
  let opening = null;
  const db = () => {
    if (!opening) {
      opening = (async () => {
        if (!indexedDB) return null;
        try {
          const request = indexedDB.open(DB, 1);
          request.onupgradeneeded = () => request.result.createObjectStore(STORE);
          const handle = await done(request);
          // A later version of the page wants the database: let it.
          handle.onversionchange = () => handle.close();
          return handle;
        } catch (err) {
          console.warn('IndexedDB unavailable; the session is kept in localStorage only', err);
          return null;
        }
      })();
    }
    return opening;
  };
  return {
    async read(now = Date.now()) {
      const handle = await db();
      if (!handle) return fallback.read(now);
      const stored = await transaction(handle, 'readonly', SESSION);
      // Never written: a session from before the vault, in localStorage only.
      if (stored === undefined) return fallback.read(now);
      return isUsable(stored, now) ? stored : null;
    },
    async write(session) {
      const handle = await db();
      if (handle) await transaction(handle, 'readwrite', SESSION, (store) => store.put(session, SESSION));
      writeSession(storage, session);
    },
    /** Drops the session (only if it is still `mine`, when given); the other tabs are told why. */
    async forget(reason, mine) {
      const handle = await db();
      if (handle) {
        // Looked at and dropped in one transaction: a login in another tab cannot come in between.
        await transaction(handle, 'readwrite', SESSION, (store, stored) => {
          if (!(mine && isUsable(stored) && !sameSession(stored, mine))) store.put(null, SESSION);
        });
      }
      forgetSession(storage, reason, mine);
    },
    endedReason: fallback.endedReason,
    async claim(owner, until, now) {
      const handle = await db();
      if (!handle) return fallback.claim(owner, until, now);
      return transaction(handle, 'readwrite', LEASE, (store, lease) => {
        if (!free(lease, owner, now)) return false;
        store.put({ owner, until }, LEASE);
        return true;
      });
    },
    async release(owner) {
      const handle = await db();
      if (!handle) return fallback.release(owner);
      await transaction(handle, 'readwrite', LEASE, (store, lease) => {
        if (validLease(lease)?.owner === owner) store.put(null, LEASE);
      });
    },
  };
}
