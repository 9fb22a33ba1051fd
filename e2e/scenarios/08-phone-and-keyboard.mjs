// Readable on a phone (375 px): the rooms are a drawer, nothing scrolls
// sideways. Usable by keyboard alone, with a visible focus ring.
import assert from 'node:assert/strict';
import { PASSWORD, say, uniqueName, waitForChat } from '../lib/app.mjs';
import { userToken } from '../lib/client.mjs';

async function focusRing(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return { id: el.id || el.textContent.trim(), outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
  });
}

export default {
  name: 'works on a 375 px phone and by keyboard alone',
  async run(t) {
    const gil = uniqueName('gil');
    await userToken(t.base, gil); // registered; this scenario logs in

    // Keyboard only, on a wide screen: Tab through the form, Enter to log in.
    const desk = await t.newPage(await t.newContext(), `${gil} (keyboard)`);
    await desk.goto(t.base);
    await desk.waitForSelector('#auth-form');
    assert.equal(await desk.evaluate(() => document.activeElement.id), 'auth-username', 'the form has focus first');
    await desk.keyboard.type(gil);
    await desk.keyboard.press('Tab');
    await desk.keyboard.type(PASSWORD);
    await desk.keyboard.press('Tab');
    const ring = await focusRing(desk);
    assert.equal(ring.id, 'login-button');
    assert.ok(ring.outline !== 'none' && ring.width >= 2, `focus ring on the login button: ${JSON.stringify(ring)}`);
    await desk.keyboard.press('Enter');
    await waitForChat(desk);
    // Tab reaches the rooms; Enter on one opens it.
    await desk.focus('#room-list button[data-room="random"]');
    const roomRing = await focusRing(desk);
    assert.ok(roomRing.outline !== 'none', 'focus ring on a room');
    await desk.keyboard.press('Enter');
    await desk.waitForSelector('#room-list button[data-room="random"][aria-current="page"]');
    await desk.focus('#composer-input');
    await desk.keyboard.type('typed without a mouse');
    await desk.keyboard.press('Enter');
    await desk.waitForSelector('#list-host li.msg[data-id]:has-text("typed without a mouse")');

    // A phone.
    const phoneCtx = await t.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const phone = await t.newPage(phoneCtx, `${gil} (phone)`);
    await phone.goto(t.base);
    await phone.waitForSelector('#auth-form');
    await t.screenshot(phone, 'login');
    await phone.fill('#auth-username', gil);
    await phone.fill('#auth-password', PASSWORD);
    await phone.click('#login-button');
    await waitForChat(phone, 'general');
    assert.equal(await phone.isVisible('#sidebar'), false, 'the rooms are tucked away');
    assert.equal(await phone.isVisible('#menu-toggle'), true);
    await say(phone, 'Hello from a phone! A long line with https://example.com/some/very/long/path/that/should/wrap/nicely/on/small/screens');
    const sideways = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(sideways <= 0, `the page scrolls sideways by ${sideways}px`);
    await t.screenshot(phone, 'chat');

    await phone.click('#menu-toggle');
    await phone.waitForSelector('#sidebar', { state: 'visible' });
    assert.equal(await phone.getAttribute('#menu-toggle', 'aria-expanded'), 'true');
    await phone.waitForTimeout(300); // the drawer slides in
    await t.screenshot(phone, 'rooms');
    await phone.click('#room-list button[data-room="random"]');
    await phone.waitForSelector('#room-list button[data-room="random"][aria-current="page"]', { state: 'attached' });
    await phone.waitForSelector('#sidebar', { state: 'hidden' });
    assert.equal((await phone.textContent('#room-title')).trim(), '#random');
    await phone.waitForSelector('#list-host li.msg:has-text("typed without a mouse")');

    // The online list is a panel on narrow screens.
    await phone.click('#online-toggle');
    await phone.waitForSelector(`#online-list li[data-user="${gil}"]`, { state: 'visible' });
    await phone.keyboard.press('Escape');
    await phone.waitForSelector('#online-panel', { state: 'hidden' });
  },
};
