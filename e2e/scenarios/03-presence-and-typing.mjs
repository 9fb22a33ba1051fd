// Presence and typing: B appears in A's online list on entering the room,
// "B is typing…" shows while B types and goes away after; B closing the
// page takes B off the list. Joins and leaves show as notices; several users
// arriving at once (one server `presence` summary) make one notice. The
// page opts in to that summary with `hello`, its first frame; a server from
// before `hello` refuses it, and the page must not mind.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, uniqueName } from '../lib/app.mjs';
import { userToken, V1Client } from '../lib/client.mjs';

export default {
  name: 'presence and typing appear and go',
  async run(t) {
    const [ann, bob] = [uniqueName('ann'), uniqueName('bob')];
    const room = uniqueName('pres-');
    const a = await t.newPage(await t.newContext(), ann);
    const sent = [];
    const helloAnswers = [];
    a.on('websocket', (ws) => {
      ws.on('framesent', (f) => sent.push(JSON.parse(f.payload)));
      ws.on('framereceived', (f) => {
        const frame = JSON.parse(f.payload);
        if (frame.ref === 'hello') helloAnswers.push(frame);
      });
    });
    await registerViaUi(a, t.base, ann);
    await createRoomViaUi(a, room, 'Who is here?');
    await a.waitForSelector(`#online-list li[data-user="${ann}"]`);
    assert.equal(await a.locator('#online-list li').count(), 1);
    assert.deepEqual(sent[0], { type: 'hello', capabilities: ['presence_summary'], ref: 'hello' }, 'hello comes first');
    assert.ok(sent.some((f) => f.type === 'subscribe'), 'and the subscribe after it');
    for (const until = Date.now() + 5000; !helloAnswers.length && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    assert.equal(helloAnswers.length, 1, 'the server answers the hello');
    const [answer] = helloAnswers;
    assert.ok(answer.type === 'hello' || (answer.type === 'error' && answer.code === 'unknown_command'), JSON.stringify(answer));
    t.log(`hello answered: ${JSON.stringify(answer)}`);
    assert.equal(await a.isVisible('#banner'), false, 'an old server refusing hello is no error to show');

    const bctx = await t.newContext();
    const b = await t.newPage(bctx, bob);
    await registerViaUi(b, t.base, bob, { room });

    // B shows up in A's list and in a notice; the room counts two online.
    await a.waitForSelector(`#online-list li[data-user="${bob}"]`);
    await a.waitForSelector(`#list-host li.notice:has-text("${bob} joined the room")`);
    await a.waitForFunction(() => document.querySelector('#online-count').textContent === '2');
    await a.waitForSelector(`#room-list button[data-room="${room}"] .online-count:text-is("2")`);
    await b.waitForSelector(`#online-list li[data-user="${ann}"]`);

    // B types: A sees it, and it goes away a few seconds after B stops.
    await b.focus('#composer-input');
    await b.keyboard.type('I am typing something long', { delay: 40 });
    await a.waitForSelector(`#typing:text("${bob} is typing…")`);
    await t.screenshot(a, 'typing');
    const shownAt = Date.now();
    await a.waitForFunction(() => document.querySelector('#typing').textContent === '', null, { timeout: 8000 });
    const gone = Date.now() - shownAt;
    assert.ok(gone > 1000, `typing vanished too soon (${gone} ms)`);
    // The typing user never sees themselves typing.
    assert.equal(await b.textContent('#typing'), '');

    // Sending clears the indicator at once.
    await b.keyboard.type(' and more', { delay: 30 });
    await a.waitForSelector(`#typing:text("${bob} is typing…")`);
    await b.keyboard.press('Enter');
    await a.waitForSelector('#list-host li.msg:has-text("I am typing something long and more")');
    assert.equal(await a.textContent('#typing'), '');

    // B closes the page: gone from A's list, with a notice.
    await b.close();
    await a.waitForSelector(`#online-list li[data-user="${bob}"]`, { state: 'detached' });
    await a.waitForSelector(`#list-host li.notice:has-text("${bob} left the room")`);
    assert.equal(await a.textContent('#online-count'), '1');
    await t.screenshot(a, 'after-leave');

    // Three arrive together (one presence tick): one notice names them all.
    const crowd = [uniqueName('cy'), uniqueName('di'), uniqueName('ed')];
    const tokens = await Promise.all(crowd.map((u) => userToken(t.base, u)));
    const clients = await Promise.all(tokens.map((tk) => V1Client.connect(t.env.server.wsUrl, tk)));
    await Promise.all(clients.map((c) => c.subscribe(room)));
    await a.waitForFunction(() => document.querySelector('#online-count').textContent === '4');
    for (const u of crowd) await a.waitForSelector(`#online-list li[data-user="${u}"]`);
    const joinedNotice = a.locator('#list-host li.notice', { hasText: 'joined the room' }).last();
    const text = await joinedNotice.textContent();
    for (const u of crowd) assert.ok(text.includes(u), `"${text}" should name ${u}`);
    for (const c of clients) c.ws.close();
    await a.waitForFunction(() => document.querySelector('#online-count').textContent === '1');
    for (const u of crowd) {
      await a.waitForSelector(`#online-list li[data-user="${u}"]`, { state: 'detached' });
    }
  },
};
