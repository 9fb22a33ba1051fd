// What the banner says when the connection goes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { reconnectNotice } from '../../web/status.js';
import { CLOSE } from '../../web/socket.js';

test('the reason follows the close code', () => {
  assert.equal(reconnectNotice({ code: CLOSE.GOING_AWAY, delay: 500 }), 'The server is restarting. Reconnecting… (next try in 1 s)');
  assert.equal(reconnectNotice({ code: CLOSE.SLOW_CONSUMER, delay: 2400 }), 'The connection fell behind. Reconnecting… (next try in 2 s)');
  assert.equal(reconnectNotice({ code: CLOSE.ABNORMAL, delay: 9600 }), 'Connection lost. Reconnecting… (next try in 10 s)');
});

test('reconnecting now: no wait shown', () => {
  assert.equal(reconnectNotice({ attempt: 0, delay: 0 }), 'Connection lost. Reconnecting…');
});

test('4001 while the session is renewed', () => {
  assert.equal(reconnectNotice({ code: CLOSE.SESSION, delay: 0 }), 'Renewing your login. Reconnecting…');
});
