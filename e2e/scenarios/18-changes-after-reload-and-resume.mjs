// What the history and a resumed socket bring of edits, deletions,
// reactions and replies. After a reload the page shows the edited text
// with "(edited)", the tombstone, the reaction chips (its own pressed) and
// a reply's quote as they are now. Then its socket is cut and held down
// (the test stands between the page and the server) while the other user
// sends, edits, deletes and reacts three times: the page shows none of it
// until its socket is back, then all of it, once, from its resume; and it
// resumes from the last change it saw (a stream_id), not just the last
// message.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, waitForChat, waitForMessage, uniqueName, messageItem, messageById, waitForChips, quoteOf, assertShownOnce } from '../lib/app.mjs';
import { userToken, V1Client } from '../lib/client.mjs';

export default {
  name: 'edits, tombstones, reactions and quotes after a reload and after a resume',
  timeout: 90_000,
  async run(t) {
    const [amy, ben] = [uniqueName('amy'), uniqueName('ben')];
    const room = uniqueName('resume-');
    const a = await t.newPage(await t.newContext(), amy);
    const b = await t.newPage(await t.newContext(), ben);

    // Ben's socket goes through the test: passed on to the server, or (held) to nowhere.
    let held = false;
    let current = null;
    const subscribes = [];
    await b.routeWebSocket(/\/ws$/, (ws) => {
      current = ws;
      if (held) return; // open, as far as the page knows, and connected to nothing
      const server = ws.connectToServer();
      ws.onMessage((frame) => {
        const parsed = JSON.parse(String(frame));
        if (parsed.type === 'subscribe' && parsed.room === room) subscribes.push(parsed);
        server.send(frame);
      });
    });

    await registerViaUi(a, t.base, amy);
    await createRoomViaUi(a, room, 'Catching up');
    await registerViaUi(b, t.base, ben, { room });

    // What happens before the reload, over the protocol.
    const amyWs = await V1Client.connect(t.env.server.wsUrl, await userToken(t.base, amy));
    const benWs = await V1Client.connect(t.env.server.wsUrl, await userToken(t.base, ben));
    await amyWs.subscribe(room);
    await benWs.subscribe(room);
    const original = (await amyWs.send(room, 'original text')).id;
    const doomed = (await amyWs.send(room, 'to be deleted')).id;
    const liked = (await amyWs.send(room, 'react to me')).id;
    const reply = (await benWs.command({ type: 'send', room, content: 'a reply', reply_to: original })).id;
    await amyWs.command({ type: 'edit', room, id: original, content: 'edited text' });
    await amyWs.command({ type: 'delete', room, id: doomed });
    await benWs.command({ type: 'react', room, id: liked, emoji: '🎉' });
    const seenLast = await amyWs.command({ type: 'react', room, id: liked, emoji: '🎉' });
    await waitForChips(b, liked, [{ emoji: '🎉', count: 2, me: true }]);

    await b.reload();
    await waitForChat(b, room);
    await waitForMessage(b, 'edited text');
    await messageById(b, original).locator('.msg-edited').waitFor();
    await messageById(b, doomed).locator('.msg-content.tombstone:text-is("Message deleted")').waitFor();
    await waitForChips(b, liked, [{ emoji: '🎉', count: 2, me: true }]);
    assert.deepEqual(await quoteOf(messageById(b, reply)), { author: amy, excerpt: 'edited text', deleted: false, replyTo: original });
    assert.equal(await messageItem(b, 'original text').count(), 0);
    assert.equal(await messageItem(b, 'to be deleted').count(), 0);
    await t.screenshot(b, 'after-reload');

    // Cut and held: the page reconnects to nothing.
    held = true;
    const before = current;
    before.close({ code: 1001, reason: 'cut by the test' });
    await waitUntil(() => current !== before, 'the page opened another socket');

    const news = (await amyWs.send(room, 'while you were away')).id;
    await amyWs.command({ type: 'edit', room, id: original, content: 'edited twice' });
    await amyWs.command({ type: 'delete', room, id: reply });
    await amyWs.command({ type: 'react', room, id: liked, emoji: '👍' });
    await amyWs.command({ type: 'react', room, id: liked, emoji: '🔥' });
    const last = await amyWs.command({ type: 'unreact', room, id: liked, emoji: '👍' });
    assert.ok(last.stream_id > news, `a change's stream_id (${last.stream_id}) comes after the message before it (${news})`);
    // None of it has reached the page.
    assert.equal(await messageItem(b, 'while you were away').count(), 0);
    assert.equal(await messageItem(b, 'edited text').count(), 1);
    await waitForChips(b, liked, [{ emoji: '🎉', count: 2, me: true }]);

    // Back: everything it missed, once, in order.
    held = false;
    const sinceBefore = subscribes.length;
    current.close({ code: 1001, reason: 'back' });
    await waitForMessage(b, 'while you were away');
    await waitForMessage(b, 'edited twice');
    await messageById(b, reply).locator('.msg-content.tombstone').waitFor();
    await waitForChips(b, liked, [{ emoji: '🎉', count: 2, me: true }, { emoji: '🔥', count: 1, me: false }]);
    await assertShownOnce(b, ['edited twice', 'react to me', 'while you were away']);
    const resumed = subscribes.slice(sinceBefore);
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0].since, seenLast.stream_id, 'resumed from the last change seen before the cut (after the reload, from history and its replay)');

    // Cut again with nothing new: it resumes from the last change it saw, the unreact.
    const again = subscribes.length;
    current.close({ code: 1001, reason: 'again' });
    await waitUntil(() => subscribes.length > again, 'the page subscribed again');
    assert.equal(subscribes[again].since, last.stream_id, 'the resume cursor is the last stream_id seen');
    await b.waitForSelector('body[data-conn="open"]');
    await assertShownOnce(b, ['edited twice', 'react to me', 'while you were away']);
    await waitForChips(b, liked, [{ emoji: '🎉', count: 2, me: true }, { emoji: '🔥', count: 1, me: false }]);
    await t.screenshot(b, 'after-resume');

    amyWs.close();
    benWs.close();
  },
};

/** Polls a condition of the test's own (not the page's) until it holds. */
async function waitUntil(condition, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
