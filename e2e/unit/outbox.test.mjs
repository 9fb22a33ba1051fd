// The outbox's bookkeeping: one client_id per message whatever happens,
// ack, timeout, refusals that are and are not worth sending again.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Outbox, PERMANENT, refusalText } from '../../web/outbox.js';

/** An outbox with a recorded socket and timers that fire only when told. */
function harness() {
  const sent = [];
  const rendered = [];
  const timers = new Map();
  let next = 1;
  const outbox = new Outbox({
    send: (frame) => sent.push(frame),
    render: (entry) => rendered.push(`${entry.clientId}:${entry.status}`),
    ackTimeout: 10_000,
    timers: {
      set: (fn, ms) => {
        const id = next++;
        timers.set(id, { fn, ms });
        return id;
      },
      clear: (id) => timers.delete(id),
    },
  });
  const fireAll = () => {
    const due = [...timers.values()];
    timers.clear();
    for (const t of due) t.fn();
  };
  return { outbox, sent, rendered, timers, fireAll };
}

test('a sent message carries its client_id as ref and waits, with one ack timer', () => {
  const { outbox, sent, timers } = harness();
  const entry = outbox.add({ clientId: 'c1', room: 'general', content: 'hi' });
  assert.equal(entry.status, 'pending');
  assert.equal(sent.length, 0, 'add alone sends nothing');
  outbox.transmit(entry);
  assert.deepEqual(sent, [{ type: 'send', room: 'general', content: 'hi', client_id: 'c1', ref: 'c1' }]);
  assert.equal(timers.size, 1);
  assert.equal([...timers.values()][0].ms, 10_000);
});

test('messages written before their room is subscribed wait for it, then go in order', () => {
  const { outbox, sent, timers } = harness();
  const first = outbox.add({ clientId: 'h1', room: 'new-room', content: 'one' });
  const second = outbox.add({ clientId: 'h2', room: 'new-room', content: 'two' });
  const elsewhere = outbox.add({ clientId: 'o1', room: 'general', content: 'other' });
  outbox.hold(first);
  outbox.hold(second);
  outbox.hold(elsewhere);
  assert.equal(sent.length, 0);
  assert.equal(timers.size, 0, 'no ack timer runs for what was not sent');
  outbox.resendAll();
  assert.equal(sent.length, 0, 'a reconnect does not send them ahead of the subscribe');
  outbox.release('new-room');
  assert.deepEqual(sent.map((f) => f.client_id), ['h1', 'h2']);
  outbox.release('new-room');
  assert.equal(sent.length, 2, 'released once');
  assert.equal(outbox.get('o1').held, true);
});

test('an ack takes the entry out and stops its timer; an unknown ack is ignored', () => {
  const { outbox, timers } = harness();
  outbox.transmit(outbox.add({ clientId: 'c1', room: 'r', content: 'x' }));
  const acked = outbox.ack('c1');
  assert.equal(acked.clientId, 'c1');
  assert.equal(outbox.has('c1'), false);
  assert.equal(timers.size, 0);
  assert.equal(outbox.ack('c1'), null);
  assert.equal(outbox.ack('never-sent'), null);
});

test('no ack in time: failed, not permanent, and sent again (same client_id) on reconnect', () => {
  const { outbox, sent, fireAll } = harness();
  const entry = outbox.add({ clientId: 'c1', room: 'r', content: 'x' });
  outbox.transmit(entry);
  fireAll();
  assert.equal(entry.status, 'failed');
  assert.equal(entry.why, 'No reply from the server.');
  assert.equal(entry.permanent, false);
  outbox.resendAll();
  assert.equal(sent.length, 2);
  assert.equal(sent[1].client_id, 'c1');
  assert.equal(entry.status, 'pending');
});

test('a late ack still confirms a message that timed out', () => {
  const { outbox, fireAll } = harness();
  outbox.transmit(outbox.add({ clientId: 'c1', room: 'r', content: 'x' }));
  fireAll();
  assert.ok(outbox.ack('c1'));
});

test('a permanent refusal is not re-sent on reconnect; Retry (transmit) sends it again', () => {
  const { outbox, sent } = harness();
  const entry = outbox.add({ clientId: 'c1', room: 'r', content: 'x' });
  outbox.transmit(entry);
  assert.equal(outbox.refused({ type: 'error', code: 'unknown_room', message: 'no such room', ref: 'c1' }), true);
  assert.equal(entry.status, 'failed');
  assert.equal(entry.why, 'no such room');
  assert.equal(entry.permanent, true);
  outbox.resendAll();
  assert.equal(sent.length, 1);
  outbox.transmit(entry);
  assert.equal(sent.length, 2);
  assert.equal(entry.permanent, false);
});

test('rate limited: "sending too fast", and worth sending again', () => {
  const { outbox, sent } = harness();
  const entry = outbox.add({ clientId: 'c1', room: 'r', content: 'x' });
  outbox.transmit(entry);
  outbox.refused({ type: 'error', code: 'rate_limited', message: 'slow down', client_id: 'c1' });
  assert.equal(entry.why, 'sending too fast');
  assert.equal(entry.permanent, false);
  outbox.resendAll();
  assert.equal(sent.length, 2);
});

test('errors that name none of ours are left to the caller', () => {
  const { outbox } = harness();
  outbox.transmit(outbox.add({ clientId: 'c1', room: 'r', content: 'x' }));
  assert.equal(outbox.refused({ type: 'error', code: 'unknown_room', ref: 'sub:r' }), false);
  assert.equal(outbox.refused({ type: 'error', code: 'bad_json' }), false);
  assert.equal(outbox.refused({ type: 'error', code: 'bad_json', ref: 7 }), false);
  assert.equal(outbox.get('c1').status, 'pending');
});

test('a close for a frame too big fails the last one sent, for good', () => {
  const { outbox, sent } = harness();
  const a = outbox.add({ clientId: 'a', room: 'r', content: 'x' });
  const b = outbox.add({ clientId: 'b', room: 'r', content: 'y'.repeat(100) });
  outbox.transmit(a);
  outbox.transmit(b);
  outbox.closedOnLastSent();
  assert.equal(b.status, 'failed');
  assert.equal(b.why, 'too large for the server');
  assert.equal(a.status, 'pending');
  outbox.resendAll();
  assert.deepEqual(sent.map((f) => f.client_id), ['a', 'b', 'a']);
});

test('a close for a frame too big after its ack fails nothing', () => {
  const { outbox } = harness();
  const a = outbox.add({ clientId: 'a', room: 'r', content: 'x' });
  outbox.transmit(a);
  outbox.ack('a');
  outbox.closedOnLastSent();
  assert.equal(a.status, 'pending');
});

test('a message refused before sending (too long) waits for Retry', () => {
  const { outbox, sent } = harness();
  const entry = outbox.add({ clientId: 'c1', room: 'r', content: 'x' });
  outbox.fail(entry, 'too long', true);
  outbox.resendAll();
  assert.equal(sent.length, 0);
});

test('renderPending draws only the waiting entries; every change is rendered', () => {
  const { outbox, rendered } = harness();
  const a = outbox.add({ clientId: 'a', room: 'r', content: 'x' });
  const b = outbox.add({ clientId: 'b', room: 'r', content: 'y' });
  outbox.transmit(a);
  outbox.transmit(b);
  outbox.fail(b, 'nope');
  rendered.length = 0;
  outbox.renderPending();
  assert.deepEqual(rendered, ['a:pending']);
});

test('clear forgets everything and stops every timer', () => {
  const { outbox, timers } = harness();
  outbox.transmit(outbox.add({ clientId: 'a', room: 'r', content: 'x' }));
  outbox.transmit(outbox.add({ clientId: 'b', room: 'r', content: 'y' }));
  outbox.clear();
  assert.equal(outbox.size, 0);
  assert.equal(timers.size, 0);
  assert.equal(outbox.lastSent, null);
});

test('which refusals are permanent', () => {
  // not_found: the message it replies to is gone; sending again finds it gone again.
  for (const code of ['too_large', 'empty_message', 'bad_command', 'unknown_room', 'muted', 'forbidden', 'not_found']) assert.ok(PERMANENT.has(code), code);
  for (const code of ['rate_limited', 'store_failed', 'not_subscribed']) assert.ok(!PERMANENT.has(code), code);
  assert.equal(refusalText({ code: 'store_failed', message: 'could not store the message' }), 'could not store the message');
});

test('removed from a room: what waits there fails for good, the rest waits on', () => {
  const { outbox, sent } = harness();
  const a = outbox.add({ clientId: 'a', room: 'gone', content: 'sent' });
  outbox.transmit(a);
  const b = outbox.add({ clientId: 'b', room: 'gone', content: 'held' });
  outbox.hold(b);
  const c = outbox.add({ clientId: 'c', room: 'other', content: 'elsewhere' });
  outbox.transmit(c);
  outbox.failRoom('gone', 'You were removed from #gone (kicked).');
  assert.equal(a.status, 'failed');
  assert.equal(b.status, 'failed');
  assert.equal(a.why, 'You were removed from #gone (kicked).');
  assert.equal(c.status, 'pending');
  const before = sent.length;
  outbox.release('gone');
  outbox.resendAll();
  assert.deepEqual(sent.slice(before).map((f) => f.client_id), ['c'], 'neither a reconnect nor the subscribe sends them again');
});

test('a reply carries the id of the message it answers, every time it is sent', () => {
  const { outbox, sent } = harness();
  const entry = outbox.add({ clientId: 'r1', room: 'general', content: 'yes', replyTo: 42 });
  outbox.transmit(entry);
  outbox.resendAll();
  assert.deepEqual(sent, [
    { type: 'send', room: 'general', content: 'yes', client_id: 'r1', ref: 'r1', reply_to: 42 },
    { type: 'send', room: 'general', content: 'yes', client_id: 'r1', ref: 'r1', reply_to: 42 },
  ]);
  outbox.refused({ type: 'error', code: 'not_found', message: 'no such message', client_id: 'r1' });
  assert.equal(entry.status, 'failed');
  assert.equal(entry.permanent, true, 'its original is gone: not sent again on reconnect');
});
