// Silent refresh: the access token is replaced before it expires, so an
// active user is never logged out. The refresh token rotates on every use,
// and presenting a used one ends the whole session (the server takes it for
// a stolen token), so the tabs of one browser, which share one session,
// must never both spend the same refresh token:
//
// - Every refresh runs under one cross-tab lock (navigator.locks; where
//   that is missing, outside a secure context, a lease kept by vault.js).
// - Inside the lock the tab reads the stored session afresh, from the vault
//   (vault.js: IndexedDB, which every tab sees alike, unlike localStorage).
//   If another tab rotated it meanwhile, the stored access token is taken as
//   it is (no request); else the stored refresh token, always the newest, is
//   spent and the new pair stored before the lock is let go.
//
// A 401 from POST /token/refresh means the session is over (expired, ended,
// or logged out): the page goes back to the login form. Any other failure
// (network, restart) is tried again with backoff while the access token
// still works.
//
// TokenKeeper is given its vault, locks, clock and timers, so the unit
// tests (e2e/unit/refresh.test.mjs) run two "tabs" against a fake server.

import { ApiError } from './api.js';
import { MAX_TIMER } from './state.js';
import { EXPIRY_MARGIN, NOTICES, sameSession, sessionFromToken } from './session.js';

export const LOCK_NAME = 'palaver.refresh';
/**
 * How far ahead of expiry a token is refreshed: the server warns a socket
 * (auth_expiring) at max(expiry − 60 s, half the lifetime), so the page
 * runs a little ahead of that and the warning is only a backstop (a tab
 * whose timers were throttled, a laptop that slept).
 */
const LEAD_MAX = 75_000;
const LEAD_SHARE = 0.6;
/** Before a failed refresh (not a 401) is tried again: 1 s doubling to 30 s. */
const RETRY_BASE = 1_000;
const RETRY_MAX = 30_000;
/** The lease that stands in for navigator.locks: held at most this long (the refresh request times out sooner), and checked this often. */
const LEASE = 15_000;
const LEASE_POLL = 100;

/** The session is over: the user has to log in again. An ApiError 401, so callers of the api treat it as one. */
export class SessionOver extends ApiError {
  constructor(reason) {
    super(401, NOTICES[reason] || NOTICES.ended);
    this.reason = reason;
  }
}

/** When to refresh this session's access token (ms since the epoch). */
export function refreshAt(session) {
  const lifetime = session.lifetime > 0 ? session.lifetime : 30 * 60 * 1000;
  return session.expiresAt - Math.min(LEAD_MAX, lifetime * LEAD_SHARE);
}

/** Milliseconds before refresh attempt `attempt` (0 first) after a failure that was not a 401. */
export function retryDelay(attempt, random = Math.random) {
  const exp = Math.min(RETRY_MAX, RETRY_BASE * 2 ** attempt);
  return Math.round(exp * (0.75 + random() * 0.5));
}

/**
 * Inside the lock: what to do, given the stored session, this tab's, and
 * the access token that needs replacing.
 * - ended: nothing usable is stored (logged out in another tab, or another
 *   login replaced this one), or there is no refresh token to spend;
 * - adopt: another tab already refreshed, and its token is still fresh;
 * - refresh: spend the stored (newest) refresh token.
 */
export function plan(stored, mine, rejected, now) {
  if (!stored || !sameSession(stored, mine)) return { kind: 'ended' };
  if (stored.token !== rejected && now < refreshAt(stored)) return { kind: 'adopt', session: stored };
  if (!stored.refreshToken) return { kind: 'ended' };
  return { kind: 'refresh', refreshToken: stored.refreshToken };
}

/**
 * Runs fn holding the cross-tab refresh lock: navigator.locks, or else a
 * lease from the vault (vault.js), taken when free or run out (a tab that
 * died holding it), held at most LEASE ms (the refresh request gives up
 * sooner), and checked every LEASE_POLL ms while another tab has it.
 */
export async function withLock(fn, { locks, lease, owner, now = Date.now, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) }) {
  if (locks && typeof locks.request === 'function') return locks.request(LOCK_NAME, { mode: 'exclusive' }, fn);
  while (!(await lease.claim(owner, now() + LEASE, now()))) await sleep(LEASE_POLL);
  try {
    return await fn();
  } finally {
    await lease.release(owner).catch(() => {});
  }
}

export class TokenKeeper {
  /**
   * session: this tab's session (session.js); vault: where sessions (and
   * the lease, where locks is null) are kept (vault.js); locks:
   * navigator.locks or null; refresh(refreshToken): POST
   * /token/refresh's answer; onrenewed(session): a new access token is in
   * use; onended(reason): the session is over (once).
   */
  constructor({ session, vault, locks, refresh, onrenewed = () => {}, onended = () => {}, now = Date.now, timers = globalThis, random = Math.random, sleep, owner }) {
    this.session = session;
    this.vault = vault;
    this.locks = locks;
    this.refresh = refresh;
    this.onrenewed = onrenewed;
    this.onended = onended;
    this.now = now;
    this.timers = timers;
    this.random = random;
    this.sleep = sleep;
    this.owner = owner || `${now()}-${random().toString(36).slice(2)}`;
    this.inflight = null;
    this.timer = null;
    this.attempt = 0;
    this.stopped = false;
  }

  /** Whether this session's access token is (nearly) expired: better renewed before it is used. */
  get stale() {
    return this.session.expiresAt <= this.now() + EXPIRY_MARGIN;
  }

  /** Sets the timer for the next refresh (or, with no refresh token, for the end). */
  schedule(delay) {
    if (this.stopped) return;
    this.timers.clearTimeout(this.timer);
    if (delay === undefined) {
      const at = this.session.refreshToken ? refreshAt(this.session) : this.session.expiresAt;
      delay = Math.min(MAX_TIMER, Math.max(0, at - this.now()));
    }
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.session.refreshToken) this.renew().catch(() => {});
      else this.end('expired');
    }, delay);
  }

  /** Timers of a hidden tab, or of a laptop that slept, run late: refresh now if it is due. */
  check() {
    if (this.stopped || this.inflight) return;
    const due = this.session.refreshToken ? refreshAt(this.session) : this.session.expiresAt;
    if (this.now() >= due) this.schedule(0);
  }

  /**
   * A good access token other than `rejected` (this tab's, by default): one
   * this tab has already, one another tab stored, or a fresh one. Rejects
   * with SessionOver once the session is over (onended has run), or with
   * the failure that a later attempt will retry by itself.
   */
  renew(rejected = this.session.token) {
    if (this.stopped) return Promise.reject(new SessionOver(this.endedWith || 'ended'));
    if (this.session.token !== rejected && this.now() < refreshAt(this.session)) return Promise.resolve(this.session.token);
    // One at a time in this tab; whoever asks meanwhile gets the same answer.
    if (!this.inflight) {
      this.inflight = this.run(rejected).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  async run(rejected) {
    let session;
    try {
      session = await withLock(() => this.underLock(rejected), {
        locks: this.locks,
        lease: this.vault,
        owner: this.owner,
        now: this.now,
        ...(this.sleep ? { sleep: this.sleep } : {}),
      });
    } catch (err) {
      if (err instanceof SessionOver) {
        this.end(err.reason);
        throw err;
      }
      const delay = retryDelay(this.attempt, this.random);
      this.attempt += 1;
      this.schedule(delay);
      throw err;
    }
    if (this.stopped) throw new SessionOver(this.endedWith || 'ended');
    this.attempt = 0;
    this.session = session;
    this.schedule();
    this.onrenewed(session);
    return session.token;
  }

  async underLock(rejected) {
    const now = this.now();
    const stored = await this.vault.read(now);
    const step = plan(stored, this.session, rejected, now);
    if (step.kind === 'adopt') return step.session;
    if (step.kind === 'ended') {
      // A session with no refresh token just ran out; else another tab's logout says why.
      throw new SessionOver(sameSession(stored, this.session) ? 'expired' : this.vault.endedReason() || 'ended');
    }
    let answer;
    try {
      answer = await this.refresh(step.refreshToken);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        await this.vault.forget('expired', this.session);
        throw new SessionOver('expired');
      }
      throw err;
    }
    const fresh = sessionFromToken(answer, this.session.username, this.now());
    await this.vault.write(fresh);
    return fresh;
  }

  /** The session is over: no more timers, and the page is told once. */
  end(reason) {
    if (this.stopped) return;
    this.stop();
    this.endedWith = reason;
    this.onended(reason);
  }

  stop() {
    this.stopped = true;
    this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
