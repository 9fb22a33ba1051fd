// Silent refresh: on a palaver whose access tokens last 6 s, three users
// chat for several token lifetimes: ann in two tabs (which share one
// session and so one refresh token), bob in one, and cy in two tabs of a
// browser without navigator.locks (as outside a secure context: the tabs
// take turns through the vault's IndexedDB lease instead). Nobody is logged
// out, no page reloads, each page keeps its one socket (the token is
// renewed on it with `auth`), and no two tabs spend one refresh token twice
// (the server would end the session). Then the refresh requests of one user are held up past
// the token's expiry: the socket is closed (4001 "token expired"), a history
// request gets a real 401; once refresh gets through again, the request is
// retried, the socket comes back, and what was written meanwhile arrives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerViaUi, createRoomViaUi, enterRoom, say, waitForMessage, waitForChat, uniqueName, editStoredSession, PASSWORD } from '../lib/app.mjs';
import { startServer } from '../lib/server.mjs';

const TTL_S = 6;
let server = null;
let dataDir = null;

/** Counts what a page does that matters here: sockets opened, auth sent and answered, refreshes and their statuses. */
function watch(page) {
  const seen = { sockets: 0, authSent: 0, authenticated: 0, expiring: 0, closes: [], refreshes: [] };
  page.on('websocket', (ws) => {
    seen.sockets += 1;
    ws.on('framesent', (f) => {
      if (typeof f.payload === 'string' && f.payload.includes('"type":"auth"')) seen.authSent += 1;
    });
    ws.on('framereceived', (f) => {
      if (typeof f.payload !== 'string') return;
      if (f.payload.includes('"type":"authenticated"')) seen.authenticated += 1;
      if (f.payload.includes('"type":"auth_expiring"')) seen.expiring += 1;
    });
    ws.on('close', () => seen.closes.push(Date.now()));
  });
  page.on('response', (r) => {
    if (r.url().endsWith('/token/refresh')) seen.refreshes.push(r.status());
  });
  return seen;
}

/** A mark that a reload would wipe. */
async function markPage(page) {
  await page.evaluate(() => {
    window.__notReloaded = true;
  });
}

async function stillTheSamePage(page) {
  return page.evaluate(() => window.__notReloaded === true && document.body.dataset.view === 'chat');
}

export default {
  name: 'silent refresh: chatting across many 6 s token lifetimes, in two tabs (with and without navigator.locks), and through a refresh outage',
  timeout: 120_000,
  async run(t) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'palaver-e2e-refresh-'));
    server = await startServer({
      bin: t.env.bin,
      dataDir,
      env: {
        ...t.env.serverEnv,
        PALAVER_TOKEN_TTL: `${TTL_S}s`,
        // Expiry is checked at each ping: every second, so the server's notice and close come on time.
        PALAVER_PING_INTERVAL: '1s',
        // An expired token is refused at once (the HTTP 401 below).
        PALAVER_TOKEN_LEEWAY: '0s',
      },
      log: (s) => t.env.serverLog.write(`[refresh] ${s}`),
    });
    const base = server.url;
    const [ann, bob, cy] = [uniqueName('ann'), uniqueName('bob'), uniqueName('cy')];
    const room = uniqueName('fresh-');
    // A room ann's first tab has not opened yet, so entering it asks for its history.
    const other = 'random';

    const annCtx = await t.newContext();
    const a1 = await t.newPage(annCtx, `${ann} tab 1`);
    const seenA1 = watch(a1);
    await registerViaUi(a1, base, ann);
    await createRoomViaUi(a1, room, 'Tokens come and go');
    // A second tab of the same browser: the same session (web/vault.js).
    const a2 = await t.newPage(annCtx, `${ann} tab 2`);
    const seenA2 = watch(a2);
    await a2.goto(`${base}/#${room}`);
    await waitForChat(a2, room);
    const b = await t.newPage(await t.newContext(), bob);
    const seenB = watch(b);
    await registerViaUi(b, base, bob, { room });
    const cyCtx = await t.newContext();
    await cyCtx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }));
    const c1 = await t.newPage(cyCtx, `${cy} tab 1 (no navigator.locks)`);
    const seenC1 = watch(c1);
    await registerViaUi(c1, base, cy, { room });
    assert.equal(await c1.evaluate(() => navigator.locks), undefined);
    const c2 = await t.newPage(cyCtx, `${cy} tab 2 (no navigator.locks)`);
    const seenC2 = watch(c2);
    await c2.goto(`${base}/#${room}`);
    await waitForChat(c2, room);
    const pages = [a1, a2, b, c1, c2];
    for (const p of pages) await markPage(p);
    const firstRefresh = await a1.evaluate(() => JSON.parse(localStorage.getItem('palaver.session')).refreshToken);

    // Chat for five lifetimes, a line each way every ~1.5 s.
    const started = Date.now();
    let n = 0;
    while (Date.now() - started < 5 * TTL_S * 1000) {
      n += 1;
      const fromAnn = `ann says ${n}`;
      await say(n % 2 ? a1 : a2, fromAnn);
      await waitForMessage(b, fromAnn);
      await waitForMessage(n % 2 ? a2 : a1, fromAnn);
      const fromBob = `bob says ${n}`;
      await say(b, fromBob);
      for (const p of [a1, a2, c1, c2]) await waitForMessage(p, fromBob);
      const fromCy = `cy says ${n}`;
      await say(n % 2 ? c1 : c2, fromCy);
      for (const p of [a1, a2, b, n % 2 ? c2 : c1]) await waitForMessage(p, fromCy);
      await a1.waitForTimeout(500);
    }
    const all = [
      [a1, seenA1, 'ann tab 1'],
      [a2, seenA2, 'ann tab 2'],
      [b, seenB, 'bob'],
      [c1, seenC1, 'cy tab 1'],
      [c2, seenC2, 'cy tab 2'],
    ];
    const annRefreshes = [...seenA1.refreshes, ...seenA2.refreshes];
    const cyRefreshes = [...seenC1.refreshes, ...seenC2.refreshes];
    t.log(
      `${n} rounds over ${((Date.now() - started) / 1000).toFixed(1)} s: refreshes: ann's tabs ${annRefreshes.length} (${seenA1.refreshes.length} + ${seenA2.refreshes.length}), ` +
        `bob ${seenB.refreshes.length}, cy's tabs ${cyRefreshes.length} (${seenC1.refreshes.length} + ${seenC2.refreshes.length}); ` +
        `auth sent ${all.map(([, s]) => s.authSent).join('/')}, authenticated ${all.map(([, s]) => s.authenticated).join('/')}; auth_expiring seen ${all.reduce((n, [, s]) => n + s.expiring, 0)}`,
    );
    for (const [p, seen, who] of all) {
      assert.ok(await stillTheSamePage(p), `${who}: still in the chat, never reloaded`);
      assert.equal(await p.getAttribute('body', 'data-conn'), 'open', `${who}: connected`);
      assert.equal(seen.sockets, 1, `${who}: one socket all along (renewed with auth, not reopened)`);
      assert.deepEqual(seen.closes, [], `${who}: no socket closed`);
      // (The last auth may still be on its way.)
      assert.ok(seen.authSent >= 4 && seen.authenticated >= seen.authSent - 1, `${who}: renewed on the socket (${seen.authenticated} of ${seen.authSent} auth answered)`);
      assert.ok(seen.refreshes.every((s) => s === 200), `${who}: every refresh succeeded: ${seen.refreshes}`);
    }
    assert.ok(seenB.refreshes.length >= 5, `bob refreshed ${seenB.refreshes.length} times over five lifetimes`);
    // Two tabs of one session refresh about as often as one (each takes the other's fresh token),
    // not twice as often: somewhat more, as the server's warnings (whole seconds) may come first.
    for (const [who, count] of [
      ['ann', annRefreshes.length],
      ['cy', cyRefreshes.length],
    ]) {
      assert.ok(count >= 5 && count <= Math.ceil(seenB.refreshes.length * 1.5) + 1, `${who}'s two tabs refreshed ${count} times, bob's one ${seenB.refreshes.length}`);
    }
    const lastRefresh = await a2.evaluate(() => JSON.parse(localStorage.getItem('palaver.session')).refreshToken);
    assert.notEqual(lastRefresh, firstRefresh, 'the refresh token rotated');
    await t.screenshot(a1, 'after-five-lifetimes');

    // The outage: ann's refresh requests are held (tab 2 is closed, so only tab 1 refreshes).
    await a2.close();
    await cyCtx.close();
    let release;
    const released = new Promise((r) => {
      release = r;
    });
    let held = 0;
    await annCtx.route('**/token/refresh', async (route) => {
      held += 1;
      await released;
      // A request the page gave up on meanwhile (its 10 s timeout) cannot be continued.
      await route.continue().catch(() => {});
    });
    const closesBefore = seenA1.closes.length;
    // The token runs out; the server closes the socket: 4001 "token expired".
    await a1.waitForFunction(() => document.body.dataset.conn === 'reconnecting', null, { timeout: 15_000 });
    await a1.waitForSelector('#banner:not([hidden]):has-text("Renewing your login")');
    assert.equal(seenA1.closes.length, closesBefore + 1);
    assert.ok(held >= 1, 'a refresh is waiting');
    await t.screenshot(a1, 'renewing');
    // Bob writes meanwhile; ann writes too (it waits for the socket).
    await say(b, 'while your token was out');
    await a1.fill('#composer-input', 'written while renewing');
    await a1.press('#composer-input', 'Enter');
    // Ann opens another room: its history request carries the expired token: a real 401.
    await a1.waitForTimeout(1_200); // the token's expiry counts in whole seconds
    const [first401] = await Promise.all([
      a1.waitForResponse((r) => r.url().includes(`/rooms/${other}/messages`), { timeout: 10_000 }),
      a1.click(`#room-list button[data-room="${other}"]`),
    ]);
    assert.equal(first401.status(), 401, 'the expired token is refused');
    // Refresh gets through again: the request is retried with the new token, the socket comes back.
    const [then200] = await Promise.all([a1.waitForResponse((r) => r.url().includes(`/rooms/${other}/messages`), { timeout: 20_000 }), release()]);
    assert.equal(then200.status(), 200, 'the retry, with the new token, is answered');
    await a1.waitForSelector('#list-host .room-start:not(:has(.spinner))');
    assert.equal(await a1.locator('#list-host .room-start.error').count(), 0, 'the history loaded, no error shown');
    await a1.waitForSelector('body[data-conn="open"]', { timeout: 15_000 });
    await enterRoom(a1, room);
    await waitForMessage(a1, 'while your token was out');
    await waitForMessage(b, 'written while renewing');
    await say(a1, 'and back to normal');
    await waitForMessage(b, 'and back to normal');
    assert.ok(await stillTheSamePage(a1), 'ann never saw the login form, never reloaded');
    assert.equal(await a1.isVisible('#auth-form'), false);
    assert.ok(seenA1.refreshes.every((s) => s === 200), `refreshes: ${seenA1.refreshes}`);
    t.log(`through the outage: ${held} refresh request(s) held, auth_expiring seen ${seenA1.expiring}, sockets ${seenA1.sockets}`);
    await t.screenshot(a1, 'recovered');

    // And a user who closed the lid past the refresh token's life is sent to log in, saying why:
    // a refresh token the server does not know is as good as an expired one.
    await annCtx.unroute('**/token/refresh');
    await editStoredSession(a1, { patch: { refreshToken: 'not-a-refresh-token', expiresAt: Date.now() - 1 } });
    await a1.reload();
    await a1.waitForSelector('#auth-form');
    assert.match(await a1.textContent('#auth-notice'), /session has expired/);
    await a1.fill('#auth-username', ann);
    await a1.fill('#auth-password', PASSWORD);
    await a1.click('#login-button');
    await waitForChat(a1);
  },
  async cleanup() {
    if (server) await server.stop();
    server = null;
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    dataDir = null;
  },
};
