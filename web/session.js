// The session: an access token (short-lived, sent with every call), the
// refresh token that buys the next one, and who it is. Kept in localStorage,
// so a reload stays logged in and every tab of this browser shares one
// session; vault.js keeps the copy that refresh.js reads under its lock.

import { ApiError } from './api.js';

export const SESSION_KEY = 'palaver.session';
/** Why the last session of this browser ended, for the other tabs to say. */
export const ENDED_KEY = 'palaver.ended';
/** An access token this close to its expiry is not worth starting with. */
export const EXPIRY_MARGIN = 5_000;
/** What POST /token promises when it does not say (PALAVER_TOKEN_TTL's default). */
const DEFAULT_EXPIRES_IN = 30 * 60;

/** What the login form says when a session ended, by reason. */
export const NOTICES = {
  expired: 'Your session has expired. Please log in again.',
  ended: 'Your session has ended: it was logged out from another tab or device, or the password was changed. Please log in again.',
  logout: 'You have logged out.',
  'logout-all': 'You have logged out everywhere.',
};

/** The session id a JWT access token carries (`sid`), or null. Read, not verified: only to tell sessions apart. */
export function sessionId(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
    return claims.sid === undefined || claims.sid === null ? null : String(claims.sid);
  } catch {
    return null;
  }
}

/** Whether two stored sessions are one login (its tokens rotate; its id does not). */
export function sameSession(a, b) {
  if (!a || !b) return false;
  const [x, y] = [sessionId(a.token), sessionId(b.token)];
  if (x !== null && y !== null) return x === y;
  return a.username.toLowerCase() === b.username.toLowerCase();
}

/**
 * The stored session, or null (and the storage cleared) if it is missing,
 * unreadable, or unusable: an access token about to expire with no refresh
 * token to replace it.
 */
export function readSession(storage, now = Date.now()) {
  try {
    const s = JSON.parse(storage.getItem(SESSION_KEY) || 'null');
    if (isUsable(s, now)) return s;
  } catch {
    /* unreadable: start over */
  }
  storage.removeItem(SESSION_KEY);
  return null;
}

/** A session with a token that is good, or a refresh token to get one. */
export function isUsable(s, now = Date.now()) {
  return (
    !!s &&
    typeof s.token === 'string' &&
    typeof s.username === 'string' &&
    typeof s.expiresAt === 'number' &&
    (typeof s.refreshToken === 'string' || s.expiresAt > now + EXPIRY_MARGIN)
  );
}

export function writeSession(storage, session) {
  storage.setItem(SESSION_KEY, JSON.stringify(session));
}

/**
 * Drops the stored session, saying why for the other tabs. With `mine`,
 * only if what is stored is still that session: another tab may already
 * have logged in afresh.
 */
export function forgetSession(storage, reason = 'logout', mine = null) {
  const raw = storage.getItem(SESSION_KEY);
  if (raw === null) return;
  if (mine) {
    let stored = null;
    try {
      stored = JSON.parse(raw);
    } catch {
      /* unreadable: ours to drop */
    }
    if (stored && typeof stored.token === 'string' && typeof stored.username === 'string' && !sameSession(stored, mine)) return;
  }
  storage.setItem(ENDED_KEY, reason);
  storage.removeItem(SESSION_KEY);
}

/** The reason forgetSession last wrote, or null. */
export function endedReason(storage) {
  const reason = storage.getItem(ENDED_KEY);
  return reason && Object.hasOwn(NOTICES, reason) ? reason : null;
}

/** A session from the answer of POST /token or POST /token/refresh. */
export function sessionFromToken(answer, username, now = Date.now()) {
  const expiresIn = Number(answer.expires_in) > 0 ? Number(answer.expires_in) : DEFAULT_EXPIRES_IN;
  return {
    token: answer.access_token,
    // A server from before refresh tokens sends none: then the session ends with its token.
    refreshToken: typeof answer.refresh_token === 'string' && answer.refresh_token ? answer.refresh_token : null,
    username,
    expiresAt: now + expiresIn * 1000,
    lifetime: expiresIn * 1000,
  };
}

// The page decides what "logged out" means; the modules that call the API
// only need to report it.
let onExpired = () => {};

export function whenUnauthorized(handler) {
  onExpired = handler;
}

/**
 * A 401 that reached a caller: the api module already tried a fresh token,
 * so the session is over. True when handled.
 */
export function handleApiError(err) {
  if (err instanceof ApiError && err.status === 401) {
    onExpired(err);
    return true;
  }
  return false;
}
