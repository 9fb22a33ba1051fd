// Sessions you can end: one user logged in from three browsers (contexts),
// the first with two tabs. The account dialog lists the three sessions;
// ending the third there sends that page to the login form at once (its
// socket is closed with 4001 "session ended") and it does not reconnect.
// "Log out everywhere" then does the same to the second browser and to the
// first one's other tab, and the server refuses every token they held.
import assert from 'node:assert/strict';
import { registerViaUi, waitForChat, uniqueName, PASSWORD, say, waitForMessage } from '../lib/app.mjs';
import { http } from '../lib/client.mjs';

async function logIn(page, base, username) {
  await page.goto(base);
  await page.waitForSelector('#auth-form');
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', PASSWORD);
  await page.click('#login-button');
  await waitForChat(page);
}

const stored = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('palaver.session')));

/** The session id in an access token (the client reads it the same way). */
function sid(token) {
  return String(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid);
}

/** Counts the page's sockets, to see that none is reopened after the session ended. */
function countSockets(page) {
  const seen = { opened: 0 };
  page.on('websocket', () => {
    seen.opened += 1;
  });
  return seen;
}

async function refused(base, method, path, options) {
  try {
    await http(base, method, path, options);
  } catch (err) {
    return String(err.message).includes(': 401 ');
  }
  return false;
}

export default {
  name: 'the sessions list ends one session; log out everywhere ends them all, in every browser',
  async run(t) {
    const kim = uniqueName('kim');
    const one = await t.newContext();
    const a = await t.newPage(one, `${kim} browser 1`);
    await registerViaUi(a, t.base, kim);
    const a2 = await t.newPage(one, `${kim} browser 1, tab 2`);
    await a2.goto(t.base);
    await waitForChat(a2);
    const b = await t.newPage(await t.newContext(), `${kim} browser 2`);
    await logIn(b, t.base, kim);
    const c = await t.newPage(await t.newContext(), `${kim} browser 3`);
    const cSockets = countSockets(c);
    await logIn(c, t.base, kim);
    const [sa, sb, sc] = [await stored(a), await stored(b), await stored(c)];
    assert.equal((await stored(a2)).refreshToken, sa.refreshToken, 'the two tabs share one session');

    // The account dialog lists the three sessions, this one first... marked as this browser.
    await a.click('#account-button');
    await a.waitForSelector('#account-dialog[open]');
    await a.waitForFunction(() => document.querySelectorAll('#session-list li').length === 3);
    const rows = await a.$$eval('#session-list li', (lis) => lis.map((li) => ({ id: li.dataset.session, current: li.classList.contains('current'), text: li.textContent })));
    t.log(`sessions: ${rows.map((r) => `${r.id}${r.current ? ' (this)' : ''}: ${r.text}`).join(' | ')}`);
    assert.deepEqual(rows.filter((r) => r.current).map((r) => r.id), [sid(sa.token)]);
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set([sa, sb, sc].map((s) => sid(s.token))));
    assert.ok(rows.every((r) => r.text.includes('Chrome on Linux')), 'each says what browser it is');
    assert.equal(await a.locator('#session-list li.current button').count(), 0, 'no End button for this one');
    await t.screenshot(a, 'sessions');

    // End browser 3's session: it is at the login form within a second or two, saying why.
    await a.click(`#session-list li[data-session="${sid(sc.token)}"] button`);
    await a.waitForFunction(() => document.querySelectorAll('#session-list li').length === 2);
    await c.waitForSelector('#auth-form', { timeout: 5_000 });
    assert.match(await c.textContent('#auth-notice'), /session has ended/);
    assert.equal(await c.evaluate(() => localStorage.getItem('palaver.session')), null);
    await c.waitForTimeout(1_500);
    assert.equal(cSockets.opened, 1, 'no reconnect after the session ended');
    assert.ok(await refused(t.base, 'POST', '/token/refresh', { json: { refresh_token: sc.refreshToken } }), "browser 3's refresh token is dead");

    // The others still chat.
    await say(b, 'still here');
    await waitForMessage(a, 'still here');

    // Log out everywhere, from browser 1's first tab.
    const bSockets = countSockets(b);
    await a.click('#logout-all-button');
    await a.waitForSelector('#auth-form', { timeout: 5_000 });
    assert.match(await a.textContent('#auth-notice'), /logged out everywhere/);
    // The other browser, and the other tab of this one.
    await b.waitForSelector('#auth-form', { timeout: 5_000 });
    assert.match(await b.textContent('#auth-notice'), /session has ended/);
    await a2.waitForSelector('#auth-form', { timeout: 5_000 });
    assert.match(await a2.textContent('#auth-notice'), /logged out everywhere|session has ended/);
    await t.screenshot(b, 'ended');
    await b.waitForTimeout(1_500);
    assert.equal(bSockets.opened, 0, 'browser 2 did not reconnect');
    for (const s of [sa, sb]) {
      assert.ok(await refused(t.base, 'GET', '/users/me', { token: s.token }), 'the access token is refused');
      assert.ok(await refused(t.base, 'POST', '/token/refresh', { json: { refresh_token: s.refreshToken } }), 'the refresh token is dead');
    }
    // A reload stays logged out; logging in again works.
    await b.reload();
    await b.waitForSelector('#auth-form');
    await logIn(b, t.base, kim);
  },
};
