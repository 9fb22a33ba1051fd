// The socket's hello, its reconnect delays, and renewing its token.
import test from 'node:test';
import assert from 'node:assert/strict';
import { helloFrame, helloAnswer, reconnectDelay, PROTOCOL, Connection, authFrame, authAnswer, CLOSE } from '../../web/socket.js';

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

// ---------------------------------------------------------------- auth on the open socket

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    this.readyState = FakeSocket.CONNECTING;
    FakeSocket.all.push(this);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  receive(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  closedByServer(code, reason) {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

function withFakeBrowser(fn) {
  return async () => {
    const saved = { window: globalThis.window, location: globalThis.location, WebSocket: globalThis.WebSocket };
    globalThis.window = { addEventListener() {}, removeEventListener() {} };
    globalThis.location = { protocol: 'http:', host: 'chat.test' };
    globalThis.WebSocket = FakeSocket;
    FakeSocket.all = [];
    const info = console.info;
    console.info = () => {};
    try {
      await fn();
    } finally {
      Object.assign(globalThis, saved);
      console.info = info;
    }
  };
}

test('auth frames, and which answers are theirs', () => {
  assert.deepEqual(authFrame('t2'), { type: 'auth', token: 't2', ref: 'auth' });
  assert.equal(authAnswer({ type: 'authenticated', expires_in: 6, ref: 'auth' }), true);
  assert.equal(authAnswer({ type: 'error', code: 'auth_failed', message: 'no', ref: 'auth' }), false);
  assert.equal(authAnswer({ type: 'error', code: 'unknown_command', ref: 'auth' }), false, 'a server from before auth');
  assert.equal(authAnswer({ type: 'auth_expiring', expires_in_ms: 3000 }), null);
  assert.equal(authAnswer({ type: 'error', code: 'rate_limited', ref: 'c1' }), null);
});

test(
  'a new token goes out on the open socket as auth; the server holds it once it says authenticated',
  withFakeBrowser(() => {
    const events = [];
    const conn = new Connection('t1', { onevent: (f) => events.push(f.type) });
    conn.connect();
    const ws = FakeSocket.all[0];
    assert.deepEqual(ws.protocols, ['palaver.v1', 'bearer.t1']);
    ws.open();
    assert.equal(conn.socketToken, 't1');
    conn.setToken('t2');
    assert.deepEqual(ws.sent, [{ type: 'auth', token: 't2', ref: 'auth' }]);
    assert.equal(conn.socketToken, 't1', 'not before the server says so');
    ws.receive({ type: 'authenticated', expires_in: 6, ref: 'auth' });
    assert.equal(conn.socketToken, 't2');
    assert.deepEqual(events, ['authenticated']);
    conn.setToken('t2');
    assert.equal(ws.sent.length, 1, 'the same token is not sent twice');
    // Refused: the server keeps t2; asked again (auth_expiring), the page sends t3 again.
    conn.setToken('t3');
    ws.receive({ type: 'error', code: 'rate_limited', message: 'sending too fast', ref: 'auth' });
    assert.equal(conn.socketToken, 't2');
    conn.setToken('t3');
    assert.deepEqual(ws.sent.map((f) => f.token), ['t2', 't3', 't3']);
    conn.setToken('t3');
    assert.equal(ws.sent.length, 3, 'not while it is on its way');
    ws.receive({ type: 'authenticated', expires_in: 6, ref: 'auth' });
    assert.equal(conn.socketToken, 't3');
    assert.equal(FakeSocket.all.length, 1, 'all on one socket');
    conn.stop();
  }),
);

test(
  'a token renewed while the socket opens is sent right after hello',
  withFakeBrowser(() => {
    const conn = new Connection('t1', {}, { capabilities: ['presence_summary'] });
    conn.connect();
    conn.setToken('t2');
    const ws = FakeSocket.all[0];
    ws.open();
    assert.deepEqual(ws.sent.map((f) => f.type), ['hello', 'auth']);
    assert.equal(ws.sent[1].token, 't2');
    conn.stop();
  }),
);

test(
  'closed with 4001: no reconnect by itself; the owner is told; a new token reconnects',
  withFakeBrowser(() => {
    const reasons = [];
    const states = [];
    const conn = new Connection('t1', { onsessionclose: (r) => reasons.push(r), onstate: (s, info) => states.push([s, info.code]) });
    conn.connect();
    FakeSocket.all[0].open();
    FakeSocket.all[0].closedByServer(CLOSE.SESSION, 'token expired');
    assert.deepEqual(reasons, ['token expired']);
    assert.equal(conn.timer, null, 'no reconnect timer');
    assert.equal(conn.awaitingToken, true);
    assert.deepEqual(states.at(-1), ['reconnecting', 4001]);
    conn.setToken('t2');
    assert.equal(FakeSocket.all.length, 2);
    assert.deepEqual(FakeSocket.all[1].protocols, ['palaver.v1', 'bearer.t2']);
    // Session ended: the same, the owner decides (and logs out).
    FakeSocket.all[1].open();
    FakeSocket.all[1].closedByServer(CLOSE.SESSION, 'session ended');
    assert.deepEqual(reasons, ['token expired', 'session ended']);
    assert.equal(conn.timer, null);
    conn.stop();
    conn.setToken('t3');
    assert.equal(FakeSocket.all.length, 2, 'stopped: nothing reconnects');
  }),
);

test(
  'waiting for a token: nothing opens until it comes',
  withFakeBrowser(() => {
    const conn = new Connection('stale', {});
    conn.waitForToken();
    assert.equal(FakeSocket.all.length, 0);
    conn.setToken('fresh');
    assert.deepEqual(FakeSocket.all[0].protocols, ['palaver.v1', 'bearer.fresh']);
    conn.stop();
  }),
);
