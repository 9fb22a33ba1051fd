// The page's edits, deletions and reactions on their way to the server:
// each goes with a client_id, and its ack or refusal is matched by it.
// Like a send (outbox.js), one that found the socket closed, or that
// was on its way when it dropped, goes again after the reconnect with the
// SAME client_id: the server acts on a client_id once and answers a
// repeat with `duplicate: true`, so nothing is done twice.
//
// No DOM here: `send(frame)` puts a frame on the socket (false when it is
// closed), and each action's own `done(ack)` / `fail(why)` are told how
// it ended.

// Wrapped: a browser's setTimeout called as a method of another object throws "Illegal invocation".
const WINDOW_TIMERS = { set: (fn, ms) => setTimeout(fn, ms), clear: (id) => clearTimeout(id) };

/** The commands this module sends, and the `action` of their acks. */
export const ACTIONS = { edit: 'edit', delete: 'delete', react: 'react', unreact: 'unreact' };

/** What a refusal says to the person who asked. */
export function actionRefusalText(frame) {
  switch (frame.code) {
    case 'not_found':
      return 'That message is gone.';
    case 'forbidden':
      return frame.message || 'You may not do that.';
    case 'too_late':
      return 'It is too late to edit that message.';
    case 'bad_emoji':
      return 'The server does not take that emoji.';
    case 'rate_limited':
      return 'Too fast: wait a moment and try again.';
    default:
      return frame.message || frame.code || 'Refused.';
  }
}

export class Actions {
  /** makeId(): a new client_id; ackTimeout: how long one may wait for its answer. */
  constructor({ send, makeId, ackTimeout, timers = WINDOW_TIMERS }) {
    this.send = send;
    this.makeId = makeId;
    this.ackTimeout = ackTimeout;
    this.timers = timers;
    this.entries = new Map(); // client_id -> { frame, done, fail, timer }
  }

  /**
   * Sends `command` ({type, room, id, …}) with a new client_id; `done(ack)`
   * or `fail(why)` is called once. Returns the client_id.
   */
  run(command, { done = () => {}, fail = () => {} } = {}) {
    const clientId = this.makeId();
    const frame = { ...command, client_id: clientId, ref: clientId };
    const entry = { frame, done, fail, timer: null };
    this.entries.set(clientId, entry);
    entry.timer = this.timers.set(() => this.#finish(clientId, (e) => e.fail('No reply from the server.')), this.ackTimeout);
    // A closed socket: it goes with resendAll, once the socket is back and the room subscribed.
    this.send(frame);
    return clientId;
  }

  has(clientId) {
    return this.entries.has(clientId);
  }

  get size() {
    return this.entries.size;
  }

  /** An ack naming one of ours: it is done (also when `duplicate`). False when it names none. */
  ack(frame) {
    return this.#finish(frame.client_id, (e) => e.done(frame));
  }

  /** An error naming one of ours (by client_id or ref): it failed. False when it names none. */
  refused(frame) {
    const id = frame.client_id || (typeof frame.ref === 'string' ? frame.ref : null);
    return this.#finish(id, (e) => e.fail(actionRefusalText(frame), frame));
  }

  /** After a (re)connect: every action still waiting goes again, with its client_id. */
  resendAll() {
    for (const entry of this.entries.values()) this.send(entry.frame);
  }

  /** Every action in `room` fails (I was removed from it): no answer will come. */
  failRoom(room, why) {
    for (const [id, entry] of [...this.entries]) if (entry.frame.room === room) this.#finish(id, (e) => e.fail(why));
  }

  clear() {
    for (const entry of this.entries.values()) this.timers.clear(entry.timer);
    this.entries.clear();
  }

  #finish(clientId, settle) {
    const entry = clientId ? this.entries.get(clientId) : undefined;
    if (!entry) return false;
    this.timers.clear(entry.timer);
    this.entries.delete(clientId);
    settle(entry);
    return true;
  }
}
