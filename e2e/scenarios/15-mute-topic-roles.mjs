// The rest of the moderator's panel. A mute closes the member's composer
// with a note (live, `muted`), and lifting it opens it again (`unmuted`);
// a new topic shows in everyone's header at once (`room_updated`); the
// owner makes someone a moderator, and a moderator cannot act on the owner.
// Leaving asks twice, and a public room left can be rejoined. A deleted
// room (`room_removed`) says so on every page that had it open.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, uniqueName, openMemberMenu } from '../lib/app.mjs';
import { http, userToken } from '../lib/client.mjs';

export default {
  name: 'mute, topic and roles from the member panel',
  async run(t) {
    const [ned, ola] = [uniqueName('ned'), uniqueName('ola')];
    const room = uniqueName('panel-');
    const n = await t.newPage(await t.newContext(), ned);
    const o = await t.newPage(await t.newContext(), ola);

    await registerViaUi(n, t.base, ned);
    await createRoomViaUi(n, room, 'The old topic');
    await registerViaUi(o, t.base, ola, { room });
    await say(o, 'hi ned');
    await waitForMessage(n, 'hi ned');

    // Mute, until lifted.
    await n.waitForSelector(`#member-list li[data-user="${ola}"]`);
    const item = await openMemberMenu(n, ola);
    await item.locator('select[name="mute-for"]').selectOption({ label: 'until lifted' });
    await item.locator('button[data-action="mute"]').click();
    await n.waitForSelector(`#member-list li[data-user="${ola}"] .role-badge.muted`);
    await o.waitForSelector(`#composer-note:not([hidden]) #composer-note-text:text("You are muted in #${room}")`);
    assert.equal(await o.isDisabled('#composer-input'), true, 'a muted member cannot write');
    await t.screenshot(o, 'muted');
    // She still reads the room.
    await say(n, 'you can still read this');
    await waitForMessage(o, 'you can still read this');

    const unmuteItem = await openMemberMenu(n, ola);
    await unmuteItem.locator('button[data-action="unmute"]').click();
    await o.waitForSelector('#composer-note', { state: 'hidden' });
    assert.equal(await o.isDisabled('#composer-input'), false);
    await say(o, 'thanks');
    await waitForMessage(n, 'thanks');

    // A new topic, live in her header; a plain member has no topic form.
    assert.equal(await o.isVisible('#topic-form'), false, 'a member may change the topic');
    await n.fill('#topic-input', 'A brand new topic');
    await n.click('#topic-form button[type="submit"]');
    await o.waitForSelector('#room-topic:text-is("A brand new topic")');
    await o.waitForSelector(`#room-list button[data-room="${room}"] .room-desc:text-is("A brand new topic")`);
    await n.waitForSelector('#room-topic:text-is("A brand new topic")');

    // Roles: the owner makes her a moderator.
    const roleItem = await openMemberMenu(n, ola);
    await roleItem.locator('select[name="role"]').selectOption('moderator');
    await roleItem.locator('button[data-action="role"]').click();
    await n.waitForSelector(`#member-list li[data-user="${ola}"][data-role="moderator"] .role-badge:text-is("moderator")`);
    // Her page learns her role from her list of rooms (no event says so): a reload shows it.
    await o.reload();
    await o.waitForSelector(`#room-list button[data-room="${room}"][aria-current="page"]`);
    await o.waitForSelector(`#member-list li[data-user="${ola}"][data-role="moderator"]`);
    await o.waitForSelector('#invite-form', { state: 'visible' });
    // A moderator has no menu over the owner.
    await o.waitForSelector(`#member-list li[data-user="${ned}"][data-role="owner"]`);
    assert.equal(await o.locator(`#member-list li[data-user="${ned}"] details.member-actions`).count(), 0, 'a moderator may act on the owner');
    await t.screenshot(n, 'owner');

    // Leave: the first click only asks.
    await o.click('#leave-button');
    await o.waitForSelector(`#leave-button:text("Leave #${room}? Click again")`);
    assert.equal(await o.isDisabled('#composer-input'), false, 'one click does not leave');
    await o.click('#leave-button');
    await o.waitForSelector(`#composer-note-text:text-is("You left #${room}.")`);
    await o.waitForSelector(`#room-list button.gone[data-room="${room}"]`);
    await n.waitForSelector(`#member-list li[data-user="${ola}"]`, { state: 'detached' });
    await o.click('#rejoin-button');
    await o.waitForSelector('#composer-note', { state: 'hidden' });
    await n.waitForSelector(`#member-list li[data-user="${ola}"][data-role="member"]`);

    // The owner deletes the room (over HTTP: the page has no button for it).
    const token = await userToken(t.base, ned);
    await http(t.base, 'DELETE', `/rooms/${room}`, { token });
    for (const page of [o, n]) {
      await page.waitForSelector(`#composer-note:not([hidden]) #composer-note-text:text-is("#${room} was deleted.")`);
      assert.equal(await page.isVisible('#rejoin-button'), false, 'no rejoining a deleted room');
      assert.equal(await page.isDisabled('#composer-input'), true);
    }
    await t.screenshot(o, 'deleted');
  },
};
