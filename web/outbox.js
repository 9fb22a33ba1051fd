// The messages this page sent that the server has not stored yet, and the
// rules for sending them again. Each keeps the client_id it was first sent
// with: the server stores a client_id once, so sending again after a
// reconnect, a timeout or a Retry can never store it twice.
//
// No DOM here: `render(entry)` is told whenever an entry's state changes
// (composer.js draws it), and `send(frame)` puts a frame on the socket.

/** Refusals that sending the same message again cannot cure (not_found: the message it replies to is gone). */
export const PERMANENT = new Set(['too_large', 'empty_message', 'bad_command', 'unknown_room', 'muted', 'forbidden', 'not_found']);

/** What a refusal says to the person who wrote the message. */
export function refusalText(frame) {
  return frame.code === 'rate_limited' ? 'sending too fast' : frame.message;
}

// Wrapped: a browser's setTimeout called as a method of another object throws "Illegal invocation".
const WINDOW_TIMERS = { set: (fn, ms) => setTimeout(fn, ms), clear: (id) => clearTimeout(id) };

export class Outbox {
  /**
   * send(frame): false when the socket is closed (the entry then waits for
   * resendAll). ackTimeout: how long a sent entry may wait for its ack.
   */
  constructor({ send, render = () => {}, ackTimeout, timers = WINDOW_TIMERS }) {
    this.send = send;
    this.render = render;
    this.ackTimeout = ackTimeout;
    this.timers = timers;
    this.entries = new Map(); // client_id -> entry
    this.lastSent = null;
  }

  /** A new entry, not sent yet: status 'pending'. `replyTo`: the id of the message it answers. */
  add({ clientId, room, content, replyTo = null }) {
    const entry = { clientId, room, content, replyTo, status: 'pending', why: null, permanent: false, timer: null };
    this.entries.set(clientId, entry);
    return entry;
  }

  has(clientId) {
    return this.entries.has(clientId);
  }

  get(clientId) {
    return this.entries.get(clientId);
  }

  get size() {
    return this.entries.size;
  }

  /** Sends (or re-sends) an entry with its one client_id; it fails if no ack comes in time. */
  transmit(entry) {
    entry.permanent = false;
    this.lastSent = entry;
    this.#set(entry, 'pending', null);
    this.timers.clear(entry.timer);
    entry.timer = this.timers.set(() => this.fail(entry, 'No reply from the server.'), this.ackTimeout);
    const frame = { type: 'send', room: entry.room, content: entry.content, client_id: entry.clientId, ref: entry.clientId };
    if (typeof entry.replyTo === 'number') frame.reply_to = entry.replyTo;
    this.send(frame);
  }

  /**
   * Keeps an entry back until its room's subscribe is on the socket: a send
   * that overtook it would be refused (not_subscribed).
   */
  hold(entry) {
    entry.held = true;
    this.#set(entry, 'pending', null);
  }

  /** The subscribe for `room` was sent: what waited for it goes now, in order. */
  release(room) {
    for (const entry of this.entries.values()) {
      if (entry.held && entry.room === room) {
        entry.held = false;
        this.transmit(entry);
      }
    }
  }

  /** Marks an entry "Not sent"; a permanent failure is not sent again on reconnect, only by Retry. */
  fail(entry, why, permanent = entry.permanent) {
    entry.permanent = permanent;
    this.timers.clear(entry.timer);
    this.#set(entry, 'failed', why);
  }

  /** The server stored it: the entry leaves the outbox and is returned (null if it was not ours). */
  ack(clientId) {
    const entry = this.entries.get(clientId);
    if (!entry) return null;
    this.timers.clear(entry.timer);
    this.entries.delete(clientId);
    return entry;
  }

  /** An `error` frame naming one of ours (by client_id or ref) fails it; false when it names none. */
  refused(frame) {
    const id = frame.client_id || (typeof frame.ref === 'string' ? frame.ref : null);
    const entry = id ? this.entries.get(id) : null;
    if (!entry) return false;
    this.fail(entry, refusalText(frame), PERMANENT.has(frame.code));
    return true;
  }

  /** Every entry still waiting in `room` fails for good (I was removed from it): nothing would store it now. */
  failRoom(room, why) {
    for (const entry of this.entries.values()) {
      if (entry.room === room && entry.status === 'pending') {
        entry.held = false;
        this.fail(entry, why, true);
      }
    }
  }

  /** The server closed the socket on a frame too big (1009): the last one sent, if it is still waiting. */
  closedOnLastSent() {
    const entry = this.lastSent;
    if (entry && this.entries.get(entry.clientId) === entry) this.fail(entry, 'too large for the server', true);
  }

  /** After a (re)connect: every entry not refused for good is sent again. */
  resendAll() {
    for (const entry of this.entries.values()) if (!entry.permanent && !entry.held) this.transmit(entry);
  }

  /** Draws the waiting entries again (their text depends on the connection). */
  renderPending() {
    for (const entry of this.entries.values()) if (entry.status === 'pending') this.render(entry);
  }

  clear() {
    for (const entry of this.entries.values()) this.timers.clear(entry.timer);
    this.entries.clear();
    this.lastSent = null;
  }

  #set(entry, status, why) {
    entry.status = status;
    entry.why = why;
    this.render(entry);
  }
}
