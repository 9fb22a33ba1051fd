// Reactions and replies between two users. A reaction from the picker
// shows as a chip on both pages (1, then 2 when the other clicks it, each
// page pressing its own), and clicking one's own chip takes it back; the
// picker remembers what was used. A reply shows the original's quote over
// the box (Escape drops it), then over the message on both pages; the
// quote follows the original when it is edited and when it is deleted,
// and a click on it leads to the original.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, uniqueName, messageItem, messageTool, waitForChips, quoteOf } from '../lib/app.mjs';

export default {
  name: 'reactions (chips counted, toggled) and replies (quotes that follow the original)',
  async run(t) {
    const [amy, ben] = [uniqueName('amy'), uniqueName('ben')];
    const room = uniqueName('react-');
    const a = await t.newPage(await t.newContext(), amy);
    const b = await t.newPage(await t.newContext(), ben);
    await registerViaUi(a, t.base, amy);
    await createRoomViaUi(a, room, 'Thumbs and threads');
    await registerViaUi(b, t.base, ben, { room });

    await say(a, 'lunch at noon?');
    await waitForMessage(b, 'lunch at noon?');
    const id = Number(await messageItem(a, 'lunch at noon?').getAttribute('data-id'));

    // Ben reacts from the picker: one chip, pressed for him only.
    await messageTool(b, messageItem(b, 'lunch at noon?'), 'react');
    const picker = messageItem(b, 'lunch at noon?').locator('.emoji-picker');
    await picker.waitFor();
    assert.equal(await picker.locator('.picker-label').count(), 0, 'nothing used yet: no recent row');
    assert.ok((await picker.locator('.emoji-choice').count()) >= 16);
    await t.screenshot(b, 'picker');
    await picker.locator('.emoji-choice[data-emoji="👍"]').click();
    await picker.waitFor({ state: 'detached' });
    await waitForChips(b, id, [{ emoji: '👍', count: 1, me: true }]);
    await waitForChips(a, id, [{ emoji: '👍', count: 1, me: false }]);

    // Amy clicks the chip: 2, pressed for each of them.
    await messageItem(a, 'lunch at noon?').locator('.reaction[data-emoji="👍"]').click();
    await waitForChips(a, id, [{ emoji: '👍', count: 2, me: true }]);
    await waitForChips(b, id, [{ emoji: '👍', count: 2, me: true }]);

    // A second emoji goes after the first.
    await messageTool(a, messageItem(a, 'lunch at noon?'), 'react');
    await messageItem(a, 'lunch at noon?').locator('.emoji-picker .emoji-choice[data-emoji="🎉"]').first().click();
    await waitForChips(b, id, [{ emoji: '👍', count: 2, me: true }, { emoji: '🎉', count: 1, me: false }]);
    await t.screenshot(a, 'chips');

    // Toggled off, by keyboard: Ben's own chip takes his back, and the redrawn chip keeps the focus.
    await messageItem(b, 'lunch at noon?').locator('.reaction[data-emoji="👍"]').focus();
    await b.keyboard.press('Enter');
    await waitForChips(b, id, [{ emoji: '👍', count: 1, me: false }, { emoji: '🎉', count: 1, me: false }]);
    assert.equal(await b.evaluate(() => document.activeElement?.dataset.emoji), '👍', 'the focus stays on the chip');
    // The last one's goes with its chip.
    await waitForChips(a, id, [{ emoji: '👍', count: 1, me: true }, { emoji: '🎉', count: 1, me: true }]);
    await messageItem(a, 'lunch at noon?').locator('.reaction[data-emoji="👍"]').click();
    await messageItem(a, 'lunch at noon?').locator('.reaction[data-emoji="🎉"]').click();
    await waitForChips(a, id, []);
    await waitForChips(b, id, []);

    // The picker remembers what this browser used, newest first.
    await messageTool(a, messageItem(a, 'lunch at noon?'), 'react');
    const recent = messageItem(a, 'lunch at noon?').locator('.emoji-picker .picker-row:has(.picker-label) .emoji-choice');
    await recent.first().waitFor();
    assert.deepEqual(await recent.evaluateAll((bs) => bs.map((x) => x.dataset.emoji)), ['🎉', '👍']);
    await a.keyboard.press('Escape');
    await messageItem(a, 'lunch at noon?').locator('.emoji-picker').waitFor({ state: 'detached' });

    // A reply: the quote over the box first; Escape drops it.
    await messageTool(b, messageItem(b, 'lunch at noon?'), 'reply');
    await b.waitForSelector(`#composer-context:not([hidden]):has-text("Replying to ${amy}: lunch at noon?")`);
    assert.equal(await b.evaluate(() => document.activeElement?.id), 'composer-input', 'the box has the focus');
    await b.keyboard.press('Escape');
    await b.waitForSelector('#composer-context', { state: 'hidden' });
    await messageTool(b, messageItem(b, 'lunch at noon?'), 'reply');
    await b.waitForSelector('#composer-context:not([hidden])');
    await say(b, 'yes, see you there');
    assert.equal(await b.isHidden('#composer-context'), true, 'sent: the quote goes from the box');
    await waitForMessage(a, 'yes, see you there');
    for (const page of [a, b]) {
      assert.deepEqual(await quoteOf(messageItem(page, 'yes, see you there')), { author: amy, excerpt: 'lunch at noon?', deleted: false, replyTo: id });
    }
    await t.screenshot(b, 'reply');

    // The original is edited: the quote follows, on both pages.
    await messageTool(a, messageItem(a, 'lunch at noon?'), 'edit');
    await a.fill('#composer-input', 'lunch at one instead?');
    await a.press('#composer-input', 'Enter');
    for (const page of [a, b]) {
      await page.waitForFunction(
        (text) => [...document.querySelectorAll('#list-host .msg-quote .quote-text')].some((q) => q.textContent === text),
        'lunch at one instead?',
      );
    }

    // A click on the quote leads to the original.
    await messageItem(b, 'yes, see you there').locator('.msg-quote').click();
    await b.waitForFunction((id) => document.activeElement?.dataset?.id === String(id), id);

    // The original is deleted: the quote says so.
    await messageTool(a, messageItem(a, 'lunch at one instead?'), 'delete');
    await a.click('.confirm-delete button[data-confirm="delete"]');
    for (const page of [a, b]) {
      await page.waitForSelector('#list-host .msg-quote .quote-text.tombstone:text-is("Message deleted")');
      assert.deepEqual(await quoteOf(messageItem(page, 'yes, see you there')), { author: amy, excerpt: 'Message deleted', deleted: true, replyTo: id });
    }
    // Nothing to answer or react to on a tombstone.
    assert.equal(await a.locator(`#list-host li.msg[data-id="${id}"] .msg-more`).count(), 0);
  },
};
