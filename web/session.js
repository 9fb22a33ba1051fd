// The login token: kept in localStorage so a reload stays logged in, and
// dropped as soon as the server says it is no good (any 401).

import { ApiError } from './api.js';

const SESSION_KEY = 'palaver.session';
/** A token this close to its expiry is not worth starting with. */
const EXPIRY_MARGIN = 5_000;
/** What POST /token promises when it does not say (PALAVER_TOKEN_TTL's default). */
const DEFAULT_EXPIRES_IN = 30 * 60;

/** The stored session, or null (and the storage cleared) if it is missing, unreadable or about to expire. */
export function readSession(storage, now = Date.now()) {
  try {
    const s = JSON.parse(storage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.token === 'string' && typeof s.expiresAt === 'number' && s.expiresAt > now + EXPIRY_MARGIN) {
      return s;
    }
  } catch {
    /* unreadable: start over */
  }
  storage.removeItem(SESSION_KEY);
  return null;
}

export function writeSession(storage, session) {
  storage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function forgetSession(storage) {
  storage.removeItem(SESSION_KEY);
}

/** A session from POST /token's answer. */
export function sessionFromToken(token, username, now = Date.now()) {
  const expiresIn = Number(token.expires_in) || DEFAULT_EXPIRES_IN;
  return { token: token.access_token, username, expiresAt: now + expiresIn * 1000 };
}

// The page decides what "logged out" means; the modules that call the API
// only need to report it.
let onExpired = () => {};

export function whenUnauthorized(handler) {
  onExpired = handler;
}

/** 401 from any call: the token is no good any more. True when handled. */
export function handleApiError(err) {
  if (err instanceof ApiError && err.status === 401) {
    onExpired();
    return true;
  }
  return false;
}
