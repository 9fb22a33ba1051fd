// History after reload: what was said before is there after a reload, the
// user is still logged in, and scrolling up loads older pages. Then logging
// out (the session ends on the server too) and what an expiring token does.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForChat, shownMessages, uniqueName, editStoredSession, PASSWORD } from '../lib/app.mjs';
import { userToken, V1Client, http } from '../lib/client.mjs';

export default {
  name: 'history is shown after a reload, and older pages load when scrolling up',
  async run(t) {
    const eve = uniqueName('eve');
    const room = uniqueName('hist-');
    const page = await t.newPage(await t.newContext(), eve);
    await registerViaUi(page, t.base, eve);
    await createRoomViaUi(page, room, 'Long memories');

    // 60 older messages from someone else, over the protocol (paced under the rate limit).
    const token = await userToken(t.base, uniqueName('old'));
    const other = await V1Client.connect(t.env.server.wsUrl, token);
    await other.subscribe(room);
    for (let i = 1; i <= 60; i++) {
      await other.send(room, `old message ${i}`);
      await new Promise((r) => setTimeout(r, 55));
    }
    other.close();

    const mine = ['first of mine', 'second of mine', 'third of mine'];
    for (const text of mine) await say(page, text);

    await page.reload();
    await waitForChat(page, room);
    assert.equal(await page.isVisible('#auth-form'), false, 'still logged in after the reload');
    assert.equal((await page.textContent('#me-name')).trim(), eve);

    // The newest 50, oldest to newest, the newest at the bottom.
    let shown = await shownMessages(page);
    assert.equal(shown.length, 50);
    assert.deepEqual(shown.slice(-3).map((m) => m.text), mine);
    assert.equal(shown[0].text, 'old message 14');
    const atBottom = await page.$eval('#scroller', (s) => s.scrollHeight - s.scrollTop - s.clientHeight < 5);
    assert.ok(atBottom, 'the list starts scrolled to the newest message');
    await t.screenshot(page, 'after-reload');

    // Scrolling to the top loads the older 13.
    await page.$eval('#scroller', (s) => { s.scrollTop = 0; });
    await page.waitForFunction(() => document.querySelectorAll('#list-host li.msg').length === 63);
    await page.waitForSelector('#list-host .room-start.beginning');
    shown = await shownMessages(page);
    assert.deepEqual(shown.slice(0, 60).map((m) => m.text), Array.from({ length: 60 }, (_, i) => `old message ${i + 1}`));
    const ids = shown.map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'oldest to newest');
    await page.$eval('#scroller', (s) => { s.scrollTop = 0; });
    await t.screenshot(page, 'scrolled-to-top');

    // A timestamp is shown in the reader's local time (the <time> carries UTC).
    const { text, iso } = await page.$eval('#list-host li.msg:not(.cont) time', (el) => ({ text: el.textContent, iso: el.dateTime }));
    const expected = new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    assert.equal(text, expected);

    // Logging out ends the session on the server, then forgets it here: a reload shows the login form.
    const before = await page.evaluate(() => JSON.parse(localStorage.getItem('palaver.session')));
    await page.click('#logout-button');
    await page.waitForSelector('#auth-form');
    assert.match(await page.textContent('#auth-notice'), /You have logged out/);
    await page.reload();
    await page.waitForSelector('#auth-form');
    assert.equal(await page.evaluate(() => localStorage.getItem('palaver.session')), null);
    await assert.rejects(http(t.base, 'GET', '/users/me', { token: before.token }), /: 401 /, 'the access token is refused');
    await assert.rejects(http(t.base, 'POST', '/token/refresh', { json: { refresh_token: before.refreshToken } }), /: 401 /, 'the refresh token is dead');
    // And logging in again brings the same history back.
    await page.fill('#auth-username', eve);
    await page.fill('#auth-password', PASSWORD);
    await page.click('#login-button');
    await waitForChat(page, room);
    shown = await shownMessages(page);
    assert.deepEqual(shown.slice(-3).map((m) => m.text), mine);

    // The access token runs out while the page is open: renewed silently, still logged in.
    const old = await editStoredSession(page, { patch: { expiresAt: Date.now() + 6500 } });
    await page.reload();
    await waitForChat(page, room);
    await page.waitForFunction((r) => JSON.parse(localStorage.getItem('palaver.session')).refreshToken !== r, old.refreshToken, { timeout: 10_000 });
    await say(page, 'after a silent refresh');
    assert.equal(await page.isVisible('#auth-form'), false);

    // A session from before refresh tokens (none stored) ends with its token: back to the login form.
    await editStoredSession(page, { patch: { expiresAt: Date.now() + 6500 }, remove: ['refreshToken'] });
    await page.reload();
    await waitForChat(page, room);
    await page.waitForSelector('#auth-form', { timeout: 10_000 });
    assert.match(await page.textContent('#auth-notice'), /session has expired/);
    assert.equal(await page.evaluate(() => localStorage.getItem('palaver.session')), null);

    // A token the server does not accept (401) and nothing to renew it with: the same.
    await editStoredSession(page, { replace: { token: 'not.a.token', username: 'x', expiresAt: Date.now() + 3_600_000 } });
    await page.reload();
    await page.waitForSelector('#auth-form');
    assert.match(await page.textContent('#auth-notice'), /session has expired/);
  },
};
