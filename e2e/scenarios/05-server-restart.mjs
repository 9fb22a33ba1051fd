// Restart: with a page open, the server is stopped (SIGTERM) and started
// again on the same port and data dir. Meanwhile another user sends
// messages. The page shows it is reconnecting, comes back by itself, and
// shows every message exactly once, its own offline message included.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, waitForMessage, waitForAcked, assertShownOnce, uniqueName } from '../lib/app.mjs';
import { userToken, V1Client, http } from '../lib/client.mjs';
import { startServer } from '../lib/server.mjs';

export default {
  name: 'the page reconnects after a server restart and shows what was missed exactly once',
  async run(t) {
    const [ada, bo] = [uniqueName('ada'), uniqueName('bo')];
    const room = uniqueName('restart-');
    const a = await t.newPage(await t.newContext(), ada);
    await registerViaUi(a, t.base, ada);
    await createRoomViaUi(a, room, 'Survives restarts');

    const bToken = await userToken(t.base, bo);
    let b = await V1Client.connect(t.env.server.wsUrl, bToken);
    await b.subscribe(room);
    const acks = [];
    acks.push(await b.send(room, 'before the restart'));
    await waitForMessage(a, 'before the restart');
    const states = [];
    await a.exposeFunction('__connState', (s) => states.push([Date.now(), s]));
    await a.evaluate(() => {
      new MutationObserver(() => window.__connState(document.body.dataset.conn)).observe(document.body, { attributes: true, attributeFilter: ['data-conn'] });
    });

    // Stop the server.
    const { port, dataDir } = t.env.server;
    const stopped = await t.env.server.stop('SIGTERM');
    t.log(`server stopped (${stopped.code ?? stopped.signal})`);
    await a.waitForSelector('body[data-conn="reconnecting"]');
    await a.waitForSelector('#banner:not([hidden]):has-text("Reconnecting")');
    await a.waitForSelector('#conn-status:text("Reconnecting")');

    // A writes while the server is away: pending, not lost.
    await a.fill('#composer-input', 'written while offline');
    await a.press('#composer-input', 'Enter');
    await a.waitForSelector('#list-host li.msg.pending:has-text("written while offline")');
    await t.screenshot(a, 'reconnecting');
    await a.waitForTimeout(2500);

    // Start it again, same port and data; B sends at once.
    t.env.server = await startServer({ bin: t.env.bin, dataDir, port, env: t.env.serverEnv, log: (s) => t.env.serverLog.write(s) });
    const restartedAt = Date.now();
    t.log(`server restarted on port ${t.env.server.port}`);
    assert.equal(t.env.server.port, port);
    b = await V1Client.connect(t.env.server.wsUrl, bToken);
    await b.subscribe(room);
    const during = [];
    for (let i = 1; i <= 5; i++) {
      const text = `sent while you were away ${i}`;
      acks.push(await b.send(room, text));
      during.push(text);
    }
    const sentAt = Date.now();

    await a.waitForSelector('body[data-conn="open"]', { timeout: 20_000 });
    const openAt = states.filter(([, s]) => s === 'open').map(([ts]) => ts).pop();
    t.log(`page reconnected ${openAt - restartedAt} ms after the restart (B's messages were all stored ${sentAt - restartedAt} ms after it): ${openAt > sentAt ? 'replayed on resume' : 'partly live'}`);
    await a.waitForSelector('#banner', { state: 'hidden' });
    for (const text of during) await waitForMessage(a, text);
    await waitForAcked(a, 'written while offline', 15_000);

    // And live again afterwards.
    const after = ['back to normal 1', 'back to normal 2'];
    for (const text of after) acks.push(await b.send(room, text));
    for (const text of after) await waitForMessage(a, text);
    await a.waitForTimeout(500);

    await assertShownOnce(a, ['before the restart', ...during, ...after, 'written while offline']);
    for (const ack of acks) {
      const n = await a.locator(`#list-host li.msg[data-id="${ack.id}"]`).count();
      assert.equal(n, 1, `message ${ack.id} shown ${n} times`);
    }
    assert.equal(await a.locator('#list-host li.msg.pending').count(), 0);
    // The offline message was stored once, though it may have been sent twice.
    const page = await http(t.base, 'GET', `/rooms/${room}/messages?limit=100`, { token: bToken });
    assert.equal(page.messages.filter((m) => m.content === 'written while offline').length, 1);
    assert.equal(page.messages.length, 1 + during.length + after.length + 1);
    b.close();
    await t.screenshot(a, 'reconnected');
  },
};
