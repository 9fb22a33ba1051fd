// Edits, deletions and reactions on their way: one client_id each, through
// ack, refusal, timeout and reconnect.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Actions, actionRefusalText } from '../../web/actions.js';

function harness({ open = true } = {}) {
  const sent = [];
  const timers = new Map();
  let next = 1;
  let ids = 0;
  const socket = { open };
  const actions = new Actions({
    send: (frame) => {
      if (!socket.open) return false;
      sent.push(frame);
      return true;
    },
    makeId: () => `a-${++ids}`,
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
  return { actions, sent, timers, socket, fireAll };
}

function outcome() {
  const calls = [];
  return { calls, done: (ack) => calls.push(['done', ack]), fail: (why) => calls.push(['fail', why]) };
}

test('a command goes with a new client_id, as ref too, and waits for its ack', () => {
  const { actions, sent, timers } = harness();
  const o = outcome();
  const id = actions.run({ type: 'react', room: 'general', id: 42, emoji: '👍' }, o);
  assert.deepEqual(sent, [{ type: 'react', room: 'general', id: 42, emoji: '👍', client_id: id, ref: id }]);
  assert.equal(timers.size, 1);
  const ack = { type: 'ack', action: 'react', room: 'general', id: 42, stream_id: 59, client_id: id };
  assert.equal(actions.ack(ack), true);
  assert.deepEqual(o.calls, [['done', ack]]);
  assert.equal(timers.size, 0);
  assert.equal(actions.ack(ack), false, 'answered once');
  assert.equal(o.calls.length, 1);
});

test('an error naming it fails it, in words; another one is not ours', () => {
  const { actions } = harness();
  const o = outcome();
  const id = actions.run({ type: 'edit', room: 'general', id: 42, content: 'x' }, o);
  assert.equal(actions.refused({ type: 'error', code: 'not_found', client_id: 'someone-else' }), false);
  assert.equal(actions.refused({ type: 'error', code: 'too_late', message: 'the edit window has passed', client_id: id }), true);
  assert.deepEqual(o.calls, [['fail', 'It is too late to edit that message.']]);
  assert.equal(actions.size, 0);
});

test('an error that names it only by ref fails it too', () => {
  const { actions } = harness();
  const o = outcome();
  const id = actions.run({ type: 'delete', room: 'general', id: 42 }, o);
  assert.equal(actions.refused({ type: 'error', code: 'forbidden', message: 'not yours', ref: id }), true);
  assert.deepEqual(o.calls, [['fail', 'not yours']]);
});

test('no answer in time: it fails', () => {
  const { actions, fireAll, timers } = harness();
  const o = outcome();
  actions.run({ type: 'delete', room: 'general', id: 42 }, o);
  assert.equal([...timers.values()][0].ms, 10_000);
  fireAll();
  assert.deepEqual(o.calls, [['fail', 'No reply from the server.']]);
  assert.equal(actions.size, 0);
});

test('sent while the socket is closed, or lost with it: it goes again on reconnect with the same client_id', () => {
  const { actions, sent, socket } = harness({ open: false });
  const o = outcome();
  const id = actions.run({ type: 'unreact', room: 'general', id: 42, emoji: '👍' }, o);
  assert.equal(sent.length, 0);
  socket.open = true;
  actions.resendAll();
  actions.resendAll(); // a second reconnect before the answer
  assert.deepEqual(sent.map((f) => f.client_id), [id, id], 'the same client_id each time: the server acts once');
  actions.ack({ type: 'ack', action: 'unreact', client_id: id, duplicate: true });
  assert.deepEqual(o.calls.map(([k]) => k), ['done']);
  actions.resendAll();
  assert.equal(sent.length, 2, 'nothing left to send');
});

test('removed from a room: what waited there fails, the rest waits on', () => {
  const { actions } = harness();
  const here = outcome();
  const there = outcome();
  actions.run({ type: 'react', room: 'general', id: 1, emoji: '👍' }, here);
  actions.run({ type: 'react', room: 'other', id: 2, emoji: '👍' }, there);
  actions.failRoom('general', 'You were removed from #general (kicked).');
  assert.deepEqual(here.calls, [['fail', 'You were removed from #general (kicked).']]);
  assert.deepEqual(there.calls, []);
  assert.equal(actions.size, 1);
  actions.clear();
  assert.equal(actions.size, 0);
});

test('refusals in words', () => {
  assert.equal(actionRefusalText({ code: 'not_found', message: 'no such message' }), 'That message is gone.');
  assert.equal(actionRefusalText({ code: 'bad_emoji', message: 'x' }), 'The server does not take that emoji.');
  assert.equal(actionRefusalText({ code: 'muted', message: 'you are muted here' }), 'you are muted here');
  assert.equal(actionRefusalText({ code: 'store_failed' }), 'store_failed');
});
