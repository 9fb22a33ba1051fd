// A direct message started from a name: dee clicks fin's name on one of
// his messages, the conversation opens at once for her, titled by his name,
// and appears live in fin's "My rooms" titled by hers (room_added: his
// page's list of its rooms is made to fail meanwhile). They exchange a message. Clicking his name
// again, in the member list this time, opens the same conversation.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, uniqueName, blockRoomList } from '../lib/app.mjs';

export default {
  name: 'a direct message from a name: live for the other, both ways',
  async run(t) {
    const [dee, fin] = [uniqueName('dee'), uniqueName('fin')];
    const lobby = uniqueName('lobby-');
    const d = await t.newPage(await t.newContext(), dee);
    const f = await t.newPage(await t.newContext(), fin);

    await registerViaUi(d, t.base, dee);
    await createRoomViaUi(d, lobby, 'Where people meet');
    await registerViaUi(f, t.base, fin, { room: lobby });
    await say(f, 'hello, anyone here?');
    await waitForMessage(d, 'hello, anyone here?');
    // My own name is no button; his is.
    await say(d, 'me!');
    assert.equal(await d.locator(`#list-host li.msg button.author[data-user="${dee}"]`).count(), 0, 'my own name offers a DM with myself');

    const list = await blockRoomList(f);
    await d.click(`#list-host li.msg button.author[data-user="${fin}"]`);
    await d.waitForSelector(`#my-rooms button[data-visibility="direct"][aria-current="page"]`);
    const dm = await d.getAttribute('#my-rooms button[data-visibility="direct"][aria-current="page"]', 'data-room');
    assert.match(dm, /^dm-[0-9a-f]{24}$/, `the direct room's name: ${dm}`);
    assert.equal((await d.textContent('#room-title')).trim(), fin, 'the conversation is titled by the other name');
    assert.equal((await d.textContent('#room-badge')).trim(), 'direct message');
    assert.equal(await d.isVisible('#invite-form'), false, 'nobody is invited into a direct room');
    await d.waitForSelector(`#member-list li[data-user="${fin}"]`);
    await d.waitForSelector('#list-host .room-start:not(:has(.spinner))');

    // fin: there at once, under dee's name, with no list to bring it.
    const finButton = `#my-rooms button[data-room="${dm}"]`;
    await f.waitForSelector(finButton, { timeout: 10_000 });
    await list.unblock();
    assert.ok((await f.textContent(`${finButton} .room-name`)).includes(dee), 'titled by the other name');
    assert.equal(await f.locator(`#directory-list button[data-room="${dm}"]`).count(), 0, 'a DM is not in the directory');

    await say(d, `psst, ${fin}`);
    // Unread on fin's side until he opens it.
    await f.waitForSelector(`${finButton} .unread`);
    await f.click(finButton);
    await f.waitForSelector(`${finButton}[aria-current="page"]`);
    assert.equal((await f.textContent('#room-title')).trim(), dee);
    await waitForMessage(f, `psst, ${fin}`);
    await say(f, 'psst yourself');
    await waitForMessage(d, 'psst yourself');
    await t.screenshot(f, 'dm');

    // His name in the member list of the lobby: the same conversation, not a new one.
    await d.click(`#room-list button[data-room="${lobby}"]`);
    await d.waitForSelector(`#room-list button[data-room="${lobby}"][aria-current="page"]`);
    await d.click(`#member-list li[data-user="${fin}"] button.user-link`);
    await d.waitForSelector(`#my-rooms button[data-room="${dm}"][aria-current="page"]`);
    assert.equal(await d.locator('#my-rooms button[data-visibility="direct"]').count(), 1, 'one conversation with fin');
    await waitForMessage(d, 'psst yourself');
    await t.screenshot(d, 'dm-again');
  },
};
