// Where the session is kept, for refresh.js to read under its lock.
//
// localStorage alone is not enough for that: Chromium caches it in each
// tab's renderer and tells the other tabs of a write asynchronously, so a
// tab that gets the refresh lock a moment after another tab refreshed can
// still read the spent refresh token, and spending it again ends the
// session. (e2e scenario 09 saw exactly that.) A committed IndexedDB write,
// on the other hand, is seen by the next transaction of every tab. So the
// vault keeps the session in IndexedDB, and a copy in localStorage for what
// must be synchronous or cross-tab: the read at boot and the `storage`
// events that tell the other tabs about a login or a logout. Where
// IndexedDB cannot be opened, localStorage alone stands in.

import { endedReason, forgetSession, isUsable, readSession, sameSession, writeSession } from './session.js';

const DB = 'palaver';
const STORE = 'kv';
const KEY = 'session';

/** The vault on localStorage alone (the unit tests, and browsers without IndexedDB). */
export function storageVault(storage) {
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
  };
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Runs use(store) in one transaction; resolves with the value of the session key read first. */
function transaction(db, mode, use) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const store = tx.objectStore(STORE);
    let result;
    const get = store.get(KEY);
    get.onsuccess = () => {
      result = get.result;
      use?.(store, result);
    };
    // A write counts once committed: only then do other tabs see it.
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
      const stored = await transaction(handle, 'readonly');
      // Never written: a session from before the vault, in localStorage only.
      if (stored === undefined) return fallback.read(now);
      return isUsable(stored, now) ? stored : null;
    },
    async write(session) {
      const handle = await db();
      if (handle) await transaction(handle, 'readwrite', (store) => store.put(session, KEY));
      writeSession(storage, session);
    },
    /** Drops the session (only if it is still `mine`, when given); the other tabs are told why. */
    async forget(reason, mine) {
      const handle = await db();
      if (handle) {
        // Looked at and dropped in one transaction: a login in another tab cannot come in between.
        await transaction(handle, 'readwrite', (store, stored) => {
          if (!(mine && isUsable(stored) && !sameSession(stored, mine))) store.put(null, KEY);
        });
      }
      forgetSession(storage, reason, mine);
    },
    endedReason: fallback.endedReason,
  };
}
