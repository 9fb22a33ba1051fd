// One WebSocket to /ws speaking palaver.v1, kept open: when it drops, it
// reconnects with exponential backoff and jitter (0.5 s doubling to 10 s).
// The owner resumes rooms and re-sends unacknowledged messages in `onopen`.

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
};

export class Connection {
  /// handlers: onopen(), onevent(frame), onstate(state, info), onrefused()
  /// (the upgrade failed before the socket ever opened: perhaps a bad token).
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.state = 'idle';
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
    let opened = false;
    let ws;
    try {
      ws = new WebSocket(this.url(), [PROTOCOL, `bearer.${this.token}`]);
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
      if (frame && typeof frame.type === 'string') this.handlers.onevent?.(frame);
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
      if (!opened) this.handlers.onrefused?.();
      this.scheduleReconnect(event);
    };
  }

  scheduleReconnect(event) {
    if (this.stopped) return;
    const exp = Math.min(MAX_DELAY, BASE_DELAY * 2 ** this.attempt);
    const delay = Math.round(exp * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.setState('reconnecting', { code: event.code, reason: event.reason, delay, attempt: this.attempt });
    this.timer = setTimeout(() => this.connect(), delay);
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
