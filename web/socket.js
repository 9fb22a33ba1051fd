// One WebSocket to /ws speaking palaver.v1, kept open: when it drops, it
// reconnects with exponential backoff and jitter (0.5 s doubling to 10 s).
// The owner resumes rooms and re-sends unacknowledged messages in `onopen`.
//
// Each time it opens, before anything else, the socket says `hello` with the
// capabilities the page can use (docs/protocol.md): the server answers with
// those it accepts. A server from before `hello` answers `unknown_command`
// instead; that is no failure, just no capability, and nobody is told.
//
// The token rides in the subprotocol list when the socket opens. When the
// owner has a newer one (silent refresh, refresh.js), setToken() sends it on
// the open socket as `auth`, which keeps every subscription. A socket the
// server closed with 4001 (session ended, or token expired) is not
// reconnected by itself: the owner decides, and a setToken() reconnects it.

export const PROTOCOL = 'palaver.v1';
const BASE_DELAY = 500;
const MAX_DELAY = 10_000;

/// Close codes with a meaning for the client (docs/protocol.md).
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  POLICY: 1008,
  TOO_BIG: 1009,
  SLOW_CONSUMER: 4000,
  SESSION: 4001,
};

const AUTH_REF = 'auth';

/// Renews the token on an open socket (palaver.v1 `auth`).
export function authFrame(token) {
  return { type: 'auth', token, ref: AUTH_REF };
}

/// true if `frame` accepts our `auth`, false if it refuses it, null for any other frame.
export function authAnswer(frame) {
  if (frame.type === 'authenticated') return true;
  if (frame.type === 'error' && frame.ref === AUTH_REF) return false;
  return null;
}

const HELLO_REF = 'hello';

/// The first frame on every new socket.
export function helloFrame(capabilities) {
  return { type: 'hello', capabilities: [...capabilities], ref: HELLO_REF };
}

/// The capabilities the server accepted if `frame` answers our hello (an
/// error answer accepts none), or null for any other frame.
export function helloAnswer(frame) {
  if (frame.ref !== HELLO_REF) return null;
  if (frame.type === 'hello') return Array.isArray(frame.capabilities) ? frame.capabilities.filter((c) => typeof c === 'string') : [];
  if (frame.type === 'error') return [];
  return null;
}

/// Milliseconds before reconnect attempt `attempt` (0 first): 0.5 s doubling
/// to 10 s, ±25 % so that many clients dropped at once do not return at once.
export function reconnectDelay(attempt, random = Math.random) {
  const exp = Math.min(MAX_DELAY, BASE_DELAY * 2 ** attempt);
  return Math.round(exp * (0.75 + random() * 0.5));
}

export class Connection {
  /// handlers: onopen(), onevent(frame), onstate(state, info), onrefused()
  /// (the upgrade failed before the socket ever opened: perhaps a bad token),
  /// onsessionclose(reason) (closed with 4001; waits for setToken()).
  /// capabilities: what to ask for in `hello`; `accepted` holds what the
  /// server granted on the current socket.
  constructor(token, handlers, { capabilities = [] } = {}) {
    this.token = token;
    this.handlers = handlers;
    this.capabilities = capabilities;
    this.accepted = new Set();
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.state = 'idle';
    // The token the server holds for the current socket (the upgrade's, then
    // each `auth` it confirmed), the one sent and not yet confirmed, and
    // whether a 4001 close waits for a new token.
    this.socketToken = null;
    this.pendingToken = null;
    this.awaitingToken = false;
    this.onOnline = () => {
      if (this.state === 'reconnecting') this.reconnectNow();
    };
    window.addEventListener('online', this.onOnline);
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws`;
  }

  setState(state, info = {}) {
    this.state = state;
    this.handlers.onstate?.(state, info);
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.awaitingToken = false;
    let opened = false;
    const token = this.token;
    let ws;
    try {
      ws = new WebSocket(this.url(), [PROTOCOL, `bearer.${token}`]);
    } catch (err) {
      console.error('WebSocket could not be created', err);
      this.scheduleReconnect({ code: CLOSE.ABNORMAL });
      return;
    }
    this.ws = ws;
    if (this.state !== 'reconnecting') this.setState('connecting');
    ws.onopen = () => {
      if (ws !== this.ws) return;
      opened = true;
      this.attempt = 0;
      this.accepted = new Set();
      this.socketToken = token;
      this.pendingToken = null;
      // Sent before the owner's subscribes: the server reads frames in order.
      if (this.capabilities.length) ws.send(JSON.stringify(helloFrame(this.capabilities)));
      // Renewed while this socket was opening.
      if (this.token !== token) this.sendAuth();
      this.setState('open');
      this.handlers.onopen?.();
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws || typeof event.data !== 'string') return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        console.warn('ignoring a frame that is not JSON');
        return;
      }
      if (!frame || typeof frame.type !== 'string') return;
      const accepted = helloAnswer(frame);
      if (accepted) {
        this.accepted = new Set(accepted);
        return;
      }
      const renewed = authAnswer(frame);
      if (renewed !== null) {
        // Refused (auth_failed, or a server from before `auth`): the server keeps the token it had.
        if (renewed && this.pendingToken) this.socketToken = this.pendingToken;
        this.pendingToken = null;
      }
      this.handlers.onevent?.(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.stopped) return;
      console.info(`socket closed: ${event.code} ${event.reason || ''}`.trim());
      if (event.code === CLOSE.POLICY) {
        this.setState('closed', { code: event.code, reason: event.reason || 'The server closed the connection.' });
        return;
      }
      if (event.code === CLOSE.SESSION) {
        // Reconnecting with the same token would only be refused again.
        this.awaitingToken = true;
        this.setState('reconnecting', { code: event.code, reason: event.reason, delay: 0 });
        this.handlers.onsessionclose?.(event.reason || '');
        return;
      }
      if (!opened) this.handlers.onrefused?.();
      this.scheduleReconnect(event);
    };
  }

  scheduleReconnect(event) {
    if (this.stopped) return;
    const delay = reconnectDelay(this.attempt);
    this.attempt += 1;
    this.setState('reconnecting', { code: event.code, reason: event.reason, delay, attempt: this.attempt });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /// A newer access token: sent at once on an open socket (`auth`) unless
  /// the server holds it or has it on the way (a refused one, e.g.
  /// rate_limited, goes again), used by the next socket otherwise; a socket
  /// closed with 4001 reconnects with it.
  setToken(token) {
    if (this.stopped) return;
    this.token = token;
    if (this.open) {
      if (token !== this.socketToken && token !== this.pendingToken) this.sendAuth();
    } else if (this.awaitingToken) {
      this.connect();
    }
  }

  sendAuth() {
    this.ws.send(JSON.stringify(authFrame(this.token)));
    this.pendingToken = this.token;
  }

  /// Opens the first socket only once a token arrives (setToken): the one
  /// in hand is known to be stale.
  waitForToken() {
    this.awaitingToken = true;
    this.setState('connecting');
  }

  reconnectNow() {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    this.attempt = 0;
    this.setState('reconnecting', { attempt: 0, delay: 0 });
    this.connect();
  }

  get open() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /// Sends a command; false when the socket is not open (nothing is queued
  /// here: the owner keeps what must survive a reconnect).
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /// A deliberate close (log out): no reconnect.
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener('online', this.onOnline);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(CLOSE.NORMAL, 'logged out');
      } catch {
        /* already closing */
      }
    }
    this.setState('idle');
  }
}
