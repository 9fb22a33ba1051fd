// A message the server refuses is marked failed with a Retry button; Retry
// sends it again with the same client_id, and it is stored and shown once.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, shownMessages, assertShownOnce, uniqueName } from '../lib/app.mjs';
import { userToken, http } from '../lib/client.mjs';

export default {
  name: 'a refused message is marked failed; Retry sends it once',
  async run(t) {
    const fay = uniqueName('fay');
    const room = uniqueName('retry-');
    const page = await t.newPage(await t.newContext(), fay);
    await registerViaUi(page, t.base, fay);
    await createRoomViaUi(page, room, 'Try, try again');

    // 80 messages at once: twice the server's burst of 40, so some are refused
    // (rate_limited) even when a loaded machine sends them slowly (20 come back a second).
    const texts = Array.from({ length: 80 }, (_, i) => `burst ${i + 1}`);
    await page.evaluate((all) => {
      const ta = document.querySelector('#composer-input');
      for (const text of all) {
        ta.value = text;
        ta.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
      }
    }, texts);
    await page.waitForSelector('#list-host li.msg.failed button.retry');
    await page.waitForFunction(() => document.querySelectorAll('#list-host li.msg.pending:not(.failed)').length === 0);
    const failed = await page.locator('#list-host li.msg.failed').count();
    t.log(`${failed} of 80 refused by the rate limit`);
    assert.ok(failed >= 1 && failed < 80);
    assert.match(await page.textContent('#list-host li.msg.failed .msg-state'), /Not sent.*sending too fast/);
    const failedIds = await page.$$eval('#list-host li.msg.failed', (lis) => lis.map((li) => li.dataset.clientId));
    await t.screenshot(page, 'failed');

    // After a moment, Retry each one (by keyboard: Tab to the button, Enter).
    await page.waitForTimeout(2500);
    while ((await page.locator('#list-host li.msg.failed button.retry').count()) > 0) {
      await page.focus('#list-host li.msg.failed button.retry');
      await page.keyboard.press('Enter');
    }
    await page.waitForFunction(() => document.querySelectorAll('#list-host li.msg.pending').length === 0);
    await assertShownOnce(page, texts);
    const shown = await shownMessages(page);
    assert.deepEqual(shown.filter((m) => m.text.startsWith('burst')).length, 80);

    // Stored once each; the retried ones kept their first client_id.
    const token = await userToken(t.base, fay);
    const stored = await http(t.base, 'GET', `/rooms/${room}/messages?after=0&limit=100`, { token });
    assert.deepEqual(stored.messages.map((m) => m.content).sort(), [...texts].sort());
    const storedIds = new Set(stored.messages.map((m) => m.client_id));
    for (const id of failedIds) assert.ok(storedIds.has(id), `retried message ${id} was stored under its first client_id`);

    // A message over the size limit is refused in the page, and the socket stays up.
    await page.fill('#composer-input', 'x'.repeat(70_000));
    await page.press('#composer-input', 'Enter');
    await page.waitForSelector('#list-host li.msg.failed:has-text("too long")');
    await page.waitForTimeout(300);
    assert.equal(await page.getAttribute('body', 'data-conn'), 'open');
  },
};
