// Editing and deleting between two users. The author edits from a
// message's tools and with Up in the empty box (Escape gives up); the
// other reader sees the new text and "(edited)" at once, and the versions
// behind it. Each deletes their own message (a tombstone on both pages);
// the room's owner deletes the member's ("deleted by …"), while the member
// is offered neither edit nor delete on the owner's messages.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, uniqueName, messageItem, messageTool, offeredTools } from '../lib/app.mjs';

export default {
  name: 'edit and delete: (edited) with its versions, tombstones on both sides',
  async run(t) {
    const [amy, ben] = [uniqueName('amy'), uniqueName('ben')];
    const room = uniqueName('edit-');
    const a = await t.newPage(await t.newContext(), amy);
    const b = await t.newPage(await t.newContext(), ben);
    await registerViaUi(a, t.base, amy);
    await createRoomViaUi(a, room, 'Second thoughts');
    await registerViaUi(b, t.base, ben, { room });

    // Edit from the message's tools.
    await say(a, 'helo ben');
    await waitForMessage(b, 'helo ben');
    const id = Number(await messageItem(a, 'helo ben').getAttribute('data-id'));
    await messageTool(a, messageItem(a, 'helo ben'), 'edit');
    await a.waitForSelector('#composer-context:not([hidden]):has-text("Editing your message")');
    assert.equal(await a.inputValue('#composer-input'), 'helo ben', 'the box holds the text to edit');
    await a.fill('#composer-input', 'hello ben');
    await a.press('#composer-input', 'Enter');
    for (const page of [a, b]) {
      await waitForMessage(page, 'hello ben');
      const item = messageItem(page, 'hello ben');
      assert.equal(Number(await item.getAttribute('data-id')), id, 'the same message, changed in place');
      await item.locator('.msg-edited:text-is("(edited)")').waitFor();
      assert.equal(await messageItem(page, 'helo ben').count(), 0, 'the old text is gone');
    }
    assert.equal(await a.isHidden('#composer-context'), true, 'saved: the box is for new messages again');
    assert.equal(await a.inputValue('#composer-input'), '');

    // "(edited)" shows every version, oldest first.
    await messageItem(b, 'hello ben').locator('.msg-edited').click();
    const versions = messageItem(b, 'hello ben').locator('.versions .version-content');
    await versions.nth(1).waitFor();
    assert.deepEqual(await versions.allTextContents(), ['helo ben', 'hello ben']);
    await messageItem(b, 'hello ben').locator('.versions .version').nth(1).locator('.version-current').waitFor();
    await t.screenshot(b, 'versions');
    await b.keyboard.press('Escape');
    await messageItem(b, 'hello ben').locator('.versions').waitFor({ state: 'detached' });

    // Up in the empty box edits my last message; Escape gives up and leaves it as it was.
    await say(a, 'typo hree');
    await waitForMessage(b, 'typo hree');
    await a.focus('#composer-input');
    await a.keyboard.type('a draft');
    await a.keyboard.press('ArrowUp');
    assert.equal(await a.isHidden('#composer-context'), true, 'Up in a box with text in it is just Up');
    await a.fill('#composer-input', '');
    await a.keyboard.press('ArrowUp');
    await a.waitForSelector('#composer-context:not([hidden])');
    assert.equal(await a.inputValue('#composer-input'), 'typo hree');
    await messageItem(a, 'typo hree').and(a.locator('.editing')).waitFor();
    await a.keyboard.press('Escape');
    await a.waitForSelector('#composer-context', { state: 'hidden' });
    assert.equal(await a.inputValue('#composer-input'), '', 'Escape gives back what the box held');
    await a.keyboard.press('ArrowUp');
    await a.keyboard.press('Control+A');
    await a.keyboard.type('typo here');
    await a.keyboard.press('Enter');
    await waitForMessage(b, 'typo here');
    await messageItem(b, 'typo here').locator('.msg-edited').waitFor();

    // A member may react to and answer the owner's messages, but neither edit nor delete them.
    assert.deepEqual(await offeredTools(b, messageItem(b, 'typo here')), ['react', 'reply']);
    // The owner may delete anyone's, but edit only her own.
    await say(b, 'buy cheap watches');
    await waitForMessage(a, 'buy cheap watches');
    assert.deepEqual(await offeredTools(a, messageItem(a, 'buy cheap watches')), ['react', 'reply', 'delete']);
    assert.deepEqual(await offeredTools(a, messageItem(a, 'typo here')), ['react', 'reply', 'edit', 'delete']);

    // Ben deletes his own message, by keyboard: "⋯", then the tools, then the question.
    await say(b, 'oops, wrong room');
    await waitForMessage(a, 'oops, wrong room');
    const oopsId = Number(await messageItem(b, 'oops, wrong room').getAttribute('data-id'));
    await messageItem(b, 'oops, wrong room').locator('.msg-more').focus();
    await b.keyboard.press('Enter');
    await b.waitForFunction(() => document.activeElement?.dataset.action === 'react');
    await b.keyboard.press('End');
    assert.equal(await b.evaluate(() => document.activeElement?.dataset.action), 'delete');
    await b.keyboard.press('Enter');
    await b.waitForSelector('.confirm-delete:has-text("It cannot be undone")');
    // Escape takes the question back; nothing is deleted.
    await b.keyboard.press('Escape');
    await b.waitForSelector('.confirm-delete', { state: 'detached' });
    assert.equal(await b.evaluate(() => document.activeElement?.dataset.action), 'delete', 'the focus goes back to Delete');
    await b.keyboard.press('Enter');
    await b.waitForSelector('.confirm-delete button[data-confirm="delete"]:focus');
    await b.keyboard.press('Enter');
    for (const page of [a, b]) {
      const gone = page.locator(`#list-host li.msg[data-id="${oopsId}"]`);
      await gone.locator('.msg-content.tombstone:text-is("Message deleted")').waitFor();
      assert.equal(await gone.locator('.msg-more').count(), 0, 'a tombstone has no tools');
      assert.equal(await messageItem(page, 'oops, wrong room').count(), 0);
    }

    // The owner deletes the member's spam: "deleted by" her, on both pages.
    const spamId = Number(await messageItem(a, 'buy cheap watches').getAttribute('data-id'));
    await messageTool(a, messageItem(a, 'buy cheap watches'), 'delete');
    await a.click('.confirm-delete button[data-confirm="delete"]');
    for (const page of [a, b]) {
      await page.locator(`#list-host li.msg[data-id="${spamId}"] .msg-content.tombstone`).filter({ hasText: `Message deleted by ${amy}` }).waitFor();
    }
    // The rest is as it was, in order, once.
    const texts = await b.$$eval('#list-host li.msg[data-id] .msg-content', (els) => els.map((e) => e.textContent));
    assert.deepEqual(texts, ['hello ben', 'typo here', `Message deleted by ${amy}`, 'Message deleted']);
    await t.screenshot(a, 'tombstones');
  },
};
