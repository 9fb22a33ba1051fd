// The socket's hello and its reconnect delays.
import test from 'node:test';
import assert from 'node:assert/strict';
import { helloFrame, helloAnswer, reconnectDelay, PROTOCOL } from '../../web/socket.js';

test('hello asks for the capabilities with a ref', () => {
  const hello = helloFrame(['presence_summary']);
  assert.deepEqual(hello, { type: 'hello', capabilities: ['presence_summary'], ref: 'hello' });
  assert.equal(PROTOCOL, 'palaver.v1');
});

test("the server's hello answer gives what it accepted", () => {
  assert.deepEqual(helloAnswer({ type: 'hello', capabilities: ['presence_summary'], ref: 'hello' }), ['presence_summary']);
  assert.deepEqual(helloAnswer({ type: 'hello', capabilities: [], ref: 'hello' }), []);
  assert.deepEqual(helloAnswer({ type: 'hello', capabilities: ['x', 3, null], ref: 'hello' }), ['x']);
  assert.deepEqual(helloAnswer({ type: 'hello', ref: 'hello' }), []);
});

test('a server from before hello (unknown_command) accepts nothing, silently', () => {
  assert.deepEqual(helloAnswer({ type: 'error', code: 'unknown_command', message: 'unknown or missing "type"', ref: 'hello' }), []);
});

test('every other frame is not a hello answer', () => {
  assert.equal(helloAnswer({ type: 'error', code: 'unknown_room', ref: 'sub:x' }), null);
  assert.equal(helloAnswer({ type: 'error', code: 'bad_json' }), null);
  assert.equal(helloAnswer({ type: 'presence', room: 'r', joined: ['a'], left: [] }), null);
  assert.equal(helloAnswer({ type: 'ack', ref: 'c1', client_id: 'c1' }), null);
});

test('reconnect delays: 0.5 s doubling to 10 s, jittered by ±25 %', () => {
  assert.equal(reconnectDelay(0, () => 0.5), 500);
  assert.equal(reconnectDelay(1, () => 0.5), 1000);
  assert.equal(reconnectDelay(4, () => 0.5), 8000);
  assert.equal(reconnectDelay(5, () => 0.5), 10_000);
  assert.equal(reconnectDelay(50, () => 0.5), 10_000);
  assert.equal(reconnectDelay(0, () => 0), 375);
  assert.equal(reconnectDelay(0, () => 0.999999), 625);
  assert.equal(reconnectDelay(9, () => 0), 7500);
});
