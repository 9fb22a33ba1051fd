// Two users in two browser contexts register, log in and chat in one room;
// a third user in another room sees nothing of it.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, shownMessages, uniqueName, waitForChat } from '../lib/app.mjs';

export default {
  name: 'two users chat in one room; a third in another room sees none of it',
  async run(t) {
    const [amy, ben, cat] = [uniqueName('amy'), uniqueName('ben'), uniqueName('cat')];
    const room = uniqueName('chat-');
    const a = await t.newPage(await t.newContext(), amy);
    const b = await t.newPage(await t.newContext(), ben);
    const c = await t.newPage(await t.newContext(), cat);

    // A registers, lands in general, creates a room for the two of them.
    await registerViaUi(a, t.base, amy);
    await createRoomViaUi(a, room, 'Just the two of us');
    assert.equal((await a.textContent('#room-title')).trim(), `#${room}`);

    // B registers straight into that room (a link to it); C into python.
    await registerViaUi(b, t.base, ben, { room });
    await registerViaUi(c, t.base, cat, { room: 'python' });

    // Registering a taken name shows the server's reason next to the form.
    const d = await t.newPage(await t.newContext(), 'taken');
    await d.goto(t.base);
    await d.fill('#auth-username', amy);
    await d.fill('#auth-password', 'another password');
    await d.click('#register-button');
    await d.waitForSelector('#auth-error:text("Username already registered")');
    await d.fill('#auth-username', uniqueName('dan'));
    await d.fill('#auth-password', 'short');
    await d.click('#register-button');
    await d.waitForSelector('#auth-error:text("password must be 8-1024 bytes long")');
    await d.fill('#auth-password', 'wrong password');
    await d.click('#login-button');
    await d.waitForSelector('#auth-error:text("Incorrect username or password")');

    const hello = `Hi ${ben}, it's ${amy}!`;
    await say(a, hello);
    await waitForMessage(b, hello);

    // Shift+Enter is a new line, Enter sends.
    await b.focus('#composer-input');
    await b.keyboard.type('Hello back.');
    await b.keyboard.press('Shift+Enter');
    await b.keyboard.type('Second line.');
    await b.keyboard.press('Enter');
    const twoLines = 'Hello back.\nSecond line.';
    await waitForMessage(a, twoLines);
    await waitForMessage(b, twoLines);

    const seenByA = await shownMessages(a);
    const seenByB = await shownMessages(b);
    for (const seen of [seenByA, seenByB]) {
      assert.deepEqual(seen.map((m) => [m.user, m.text]), [[amy, hello], [ben, twoLines]]);
      assert.ok(seen.every((m) => m.id !== null && !m.pending), 'every message acknowledged and stored');
    }
    // Both see each other online.
    await a.waitForSelector(`#online-list li[data-user="${ben}"]`);
    await b.waitForSelector(`#online-list li[data-user="${amy}"]`);

    // C, in python, saw nothing of it: not in the list, not in the room's unread badge.
    await c.waitForTimeout(500);
    const cText = await c.textContent('#list-host');
    assert.ok(!cText.includes(hello) && !cText.includes('Second line.'), 'python shows nothing from the other room');
    assert.equal(await c.locator('#room-list .unread').count(), 0);
    // C in python can still talk there.
    await say(c, 'anyone into python?');
    await waitForChat(c, 'python');

    await t.screenshot(a, amy);
    await t.screenshot(b, ben);
    await t.screenshot(c, cat);
  },
};
