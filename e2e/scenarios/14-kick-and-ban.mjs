// Moderation seen from both sides. kai owns a public room where lou and
// mia chat. kai kicks lou from the member list: lou's page says he was
// removed (kicked), greys the room, closes its composer, and gets nothing
// more from it (mia, still in, gets kai's next message: lou's page would
// have had it by then). A kick is no ban: "Rejoin" lets lou back in. Then
// kai bans him with a reason: lou's page says so with the reason, and
// "Rejoin" shows the server's refusal; after a reload, the room (still
// in the address) says he is banned. Unbanned, he can rejoin.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, uniqueName, openMemberMenu } from '../lib/app.mjs';

export default {
  name: 'kick and ban: the moderator acts, the member sees it and cannot rejoin when banned',
  async run(t) {
    const [kai, lou, mia] = [uniqueName('kai'), uniqueName('lou'), uniqueName('mia')];
    const room = uniqueName('mod-');
    const k = await t.newPage(await t.newContext(), kai);
    const l = await t.newPage(await t.newContext(), lou);
    const m = await t.newPage(await t.newContext(), mia);

    await registerViaUi(k, t.base, kai);
    await createRoomViaUi(k, room, 'Be nice');
    await registerViaUi(l, t.base, lou, { room });
    await registerViaUi(m, t.base, mia, { room });
    // Opening a public room made each a member: it is in their "My rooms" now.
    await l.waitForSelector(`#my-rooms button[data-room="${room}"]`);
    await say(l, 'first!');
    await waitForMessage(k, 'first!');
    await k.waitForSelector(`#member-list li[data-user="${lou}"][data-role="member"]`);
    // A plain member has no menu over others.
    await l.waitForSelector(`#member-list li[data-user="${kai}"][data-role="owner"]`);
    assert.equal(await l.locator('#member-list details.member-actions').count(), 0, 'a member may moderate');

    // Kick.
    const item = await openMemberMenu(k, lou);
    await item.locator('button[data-action="kick"]').click();
    await k.waitForSelector(`#member-list li[data-user="${lou}"]`, { state: 'detached' });
    await l.waitForSelector(`#composer-note:not([hidden]) #composer-note-text:text("You were removed from #${room} (kicked)")`);
    assert.equal(await l.isDisabled('#composer-input'), true, 'the composer is closed');
    await l.waitForSelector(`#room-list button.gone[data-room="${room}"]`);
    await l.waitForSelector(`#list-host li.notice:has-text("You were removed from #${room} (kicked)")`);
    await t.screenshot(l, 'kicked');

    // Nothing more reaches lou from the room.
    await say(k, 'lou is out');
    await waitForMessage(m, 'lou is out');
    assert.ok(!(await l.textContent('#list-host')).includes('lou is out'), 'a kicked member still receives the room');

    // Not banned: Rejoin works, and the room is his again.
    await l.click('#rejoin-button');
    await l.waitForSelector('#composer-note', { state: 'hidden' });
    assert.equal(await l.isDisabled('#composer-input'), false);
    await l.waitForSelector(`#room-list button[data-room="${room}"]:not(.gone)`);
    await say(l, 'back again');
    await waitForMessage(k, 'back again');

    // Ban, with a reason.
    await k.waitForSelector(`#member-list li[data-user="${lou}"]`);
    const again = await openMemberMenu(k, lou);
    await again.locator('input[name="reason"]').fill('spamming the room');
    await again.locator('button[data-action="ban"]').click();
    await k.waitForSelector(`#member-list li[data-user="${lou}"]`, { state: 'detached' });
    await k.waitForSelector(`#ban-list li[data-user="${lou}"]:has-text("spamming the room")`);
    await l.waitForSelector(`#composer-note-text:text("You were removed from #${room} (banned): spamming the room")`);
    assert.equal(await l.isDisabled('#composer-input'), true);

    // Rejoin: the server refuses, and its reason is shown.
    await l.click('#rejoin-button');
    await l.waitForSelector('#composer-note-error:not(:empty)');
    const refusal = await l.textContent('#composer-note-error');
    t.log(`rejoin refused: ${refusal}`);
    assert.match(refusal, /ban/i, `the refusal says why: ${refusal}`);
    assert.equal(await l.isDisabled('#composer-input'), true, 'still closed');
    await say(k, 'still out');
    await waitForMessage(m, 'still out');
    assert.ok(!(await l.textContent('#list-host')).includes('still out'), 'a banned member still receives the room');
    await t.screenshot(l, 'banned');
    await t.screenshot(k, 'moderator');

    // After a reload he is no member (the page knows of no ban), and the address opens the room
    // again: the server refuses its history (403), and the page says why.
    await l.reload();
    await l.waitForSelector('body[data-view="chat"][data-conn="open"]');
    await l.waitForSelector(`#composer-note:not([hidden]) #composer-note-text:text("You cannot read #${room}: You are banned from this room")`);
    assert.equal(await l.isDisabled('#composer-input'), true);
    await l.waitForSelector(`#my-rooms button.gone[data-room="${room}"]`);
    assert.equal(await l.textContent('#members-error'), '', 'the refusal is said once, over the composer');

    // Unbanned: he may come back.
    await k.click(`#ban-list li[data-user="${lou}"] button[data-action="unban"]`);
    await k.waitForSelector(`#ban-list li[data-user="${lou}"]`, { state: 'detached' });
    await l.click('#rejoin-button');
    await l.waitForSelector('#composer-note', { state: 'hidden' });
    await waitForMessage(l, 'still out');
    await say(l, 'I will behave');
    await waitForMessage(m, 'I will behave');
  },
};
