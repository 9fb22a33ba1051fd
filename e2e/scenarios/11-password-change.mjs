// A password change in one browser logs out the user's other browser (its
// socket is closed with 4001 "session ended", its page shows the login
// form), while both tabs of the browser that changed it stay in and keep
// chatting. The form shows the server's reasons: a wrong current password
// (403), a new one that breaks the rules (422).
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, waitForChat, say, waitForMessage, uniqueName, PASSWORD } from '../lib/app.mjs';

const NEW_PASSWORD = 'a brand new passphrase';

async function logIn(page, base, username, password, room) {
  await page.goto(room ? `${base}/#${room}` : base);
  await page.waitForSelector('#auth-form');
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', password);
  await page.click('#login-button');
}

async function changePassword(page, current, next, again = next) {
  await page.fill('#password-current', current);
  await page.fill('#password-new', next);
  await page.fill('#password-again', again);
  await page.click('#password-submit');
}

export default {
  name: 'a password change logs out the other browser; this one stays in, both tabs',
  async run(t) {
    const lee = uniqueName('lee');
    const room = uniqueName('pw-');
    const mine = await t.newContext();
    const a = await t.newPage(mine, `${lee} changes it`);
    await registerViaUi(a, t.base, lee);
    await createRoomViaUi(a, room, 'New keys');
    const a2 = await t.newPage(mine, `${lee} tab 2`);
    await a2.goto(`${t.base}/#${room}`);
    await waitForChat(a2, room);
    const other = await t.newPage(await t.newContext(), `${lee} elsewhere`);
    await logIn(other, t.base, lee, PASSWORD, room);
    await waitForChat(other, room);
    await say(other, 'hello from elsewhere');
    await waitForMessage(a, 'hello from elsewhere');

    await a.click('#account-button');
    await a.waitForSelector('#account-dialog[open]');
    assert.equal(await a.evaluate(() => document.activeElement.id), 'password-current', 'the form has focus');

    // The server's reasons, shown in place.
    await changePassword(a, 'not my password', NEW_PASSWORD);
    await a.waitForSelector('#password-error:text("Current password is wrong")');
    await changePassword(a, PASSWORD, 'short');
    await a.waitForSelector('#password-error:text("password must be 8-1024 bytes long")');
    await changePassword(a, PASSWORD, NEW_PASSWORD, 'something else');
    await a.waitForSelector('#password-error:text("The two new passwords differ.")');
    await t.screenshot(a, 'refused');
    await other.waitForTimeout(300);
    assert.equal(await other.isVisible('#auth-form'), false, 'a refused change ends nothing');

    await changePassword(a, PASSWORD, NEW_PASSWORD);
    await a.waitForSelector('#password-done:has-text("Password changed")');
    assert.equal(await a.textContent('#password-error'), '');
    await t.screenshot(a, 'changed');

    // The other browser is logged out at once, saying why.
    await other.waitForSelector('#auth-form', { timeout: 5_000 });
    assert.match(await other.textContent('#auth-notice'), /session has ended/);
    // The sessions list now shows only this browser's session.
    await a.waitForFunction(() => document.querySelectorAll('#session-list li').length === 1);
    assert.equal(await a.locator('#session-list li.current').count(), 1);
    await a.click('#account-close');
    await a.waitForSelector('#account-dialog', { state: 'hidden' });

    // This browser stays in, both tabs, and chats on.
    for (const p of [a, a2]) {
      assert.equal(await p.isVisible('#auth-form'), false);
      assert.equal(await p.getAttribute('body', 'data-conn'), 'open');
    }
    await say(a, 'changed my password');
    await waitForMessage(a2, 'changed my password');
    await say(a2, 'still here too');

    // The old password no longer works; the new one does.
    await other.fill('#auth-username', lee);
    await other.fill('#auth-password', PASSWORD);
    await other.click('#login-button');
    await other.waitForSelector('#auth-error:text("Incorrect username or password")');
    await other.fill('#auth-password', NEW_PASSWORD);
    await other.click('#login-button');
    await waitForChat(other, room);
    await waitForMessage(other, 'still here too');
  },
};
