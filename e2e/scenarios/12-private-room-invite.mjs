// A private room: its owner creates it from the sidebar and invites a
// second user by name. The room appears in the invitee's "My rooms" at
// once, brought by the server's room_added event (the page's list of its
// rooms is made to fail meanwhile), and the two chat there. A third user finds it neither in the
// directory nor by its address, and the server answers them 404.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, uniqueName, enterRoom, blockRoomList } from '../lib/app.mjs';
import { http, userToken } from '../lib/client.mjs';

export default {
  name: 'a private room: invited live, chat inside, invisible to others',
  async run(t) {
    const [ora, ivo, eve] = [uniqueName('ora'), uniqueName('ivo'), uniqueName('eve')];
    const room = uniqueName('priv-');
    const o = await t.newPage(await t.newContext(), ora);
    const i = await t.newPage(await t.newContext(), ivo);
    const e = await t.newPage(await t.newContext(), eve);

    await registerViaUi(o, t.base, ora);
    await createRoomViaUi(o, room, 'Only the invited', { visibility: 'private' });
    // Mine, marked private, and its owner is me.
    await o.waitForSelector(`#my-rooms button[data-room="${room}"][data-visibility="private"] .tag:text-is("private")`);
    assert.equal((await o.textContent('#room-badge')).trim(), 'private');
    await o.waitForSelector(`#member-list li[data-user="${ora}"][data-role="owner"]`);
    assert.equal(await o.isVisible('#invite-form'), true, 'the owner may invite');

    await registerViaUi(i, t.base, ivo);
    await registerViaUi(e, t.base, eve);
    for (const [page, who] of [[i, ivo], [e, eve]]) {
      assert.equal(await page.locator(`#room-list button[data-room="${room}"]`).count(), 0, `${who} sees the private room before being invited`);
    }

    // An unknown name: the server's reason is shown under the form.
    await o.fill('#invite-name', uniqueName('nobody'));
    await o.click('#invite-form button[type="submit"]');
    await o.waitForSelector('#invite-error:not(:empty)');
    t.log(`unknown user: ${await o.textContent('#invite-error')}`);

    const list = await blockRoomList(i);
    await o.fill('#invite-name', ivo);
    await o.click('#invite-form button[type="submit"]');
    await o.waitForSelector(`#member-list li[data-user="${ivo}"][data-role="member"]`);
    assert.equal(await o.inputValue('#invite-name'), '', 'the form is cleared after an invite');

    // Live: the room is in ivo's list without his page asking for the list.
    await i.waitForSelector(`#my-rooms button[data-room="${room}"][data-visibility="private"]`, { timeout: 10_000 });
    await list.unblock();
    t.log(`list requests refused meanwhile: ${list.blocked()}`);
    await t.screenshot(i, 'invited');

    await enterRoom(i, room);
    await i.waitForSelector(`#member-list li[data-user="${ora}"][data-role="owner"]`);
    assert.equal(await i.isVisible('#invite-form'), false, 'a plain member may not invite');
    await say(i, `thanks for the invite, ${ora}`);
    await waitForMessage(o, `thanks for the invite, ${ora}`);
    await say(o, 'welcome in');
    await waitForMessage(i, 'welcome in');

    // eve: not in her sidebar, not in the server's directory, not by its address.
    assert.equal(await e.locator(`#room-list button[data-room="${room}"]`).count(), 0, 'eve sees the private room');
    const directory = await http(t.base, 'GET', '/rooms');
    assert.ok(!directory.rooms.includes(room), 'GET /rooms lists a private room');
    await e.goto(`${t.base}/#${room}`);
    await e.waitForSelector('body[data-view="chat"][data-conn="open"]');
    await e.waitForSelector('#list-host .room-start:not(:has(.spinner))');
    assert.notEqual((await e.textContent('#room-title')).trim(), `#${room}`, 'eve opened the private room by its address');
    const eveToken = await userToken(t.base, eve);
    await assert.rejects(http(t.base, 'GET', `/rooms/${room}`, { token: eveToken }), /404/);
    await assert.rejects(http(t.base, 'GET', `/rooms/${room}/messages`, { token: eveToken }), /404/);
    assert.ok(!(await e.textContent('#list-host')).includes('welcome in'));
    await t.screenshot(o, 'owner');
  },
};
