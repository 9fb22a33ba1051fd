// Safe rendering: markup in a message is shown as text and runs nothing,
// live and from history; links are inert text or http(s) links.
import assert from 'node:assert/strict';
import { registerViaUi, createRoomViaUi, say, waitForMessage, waitForChat, uniqueName } from '../lib/app.mjs';

const ATTACKS = [
  '<img src=x onerror=alert(1)>',
  '<script>window.pwned=1</script>',
  '"><svg onload=alert(2)><b>bold?</b>',
  '<a href="javascript:alert(3)">click me</a> javascript:alert(4)',
];
const LINK = 'docs at https://example.com/a?b=1&c=<2> (see https://en.wikipedia.org/wiki/Foo_(bar)).';
const LONG = `${'a'.repeat(600)} ${'word '.repeat(80)}`;

export default {
  name: 'markup in messages is shown as text and runs nothing',
  async run(t) {
    const [mal, vic] = [uniqueName('mal'), uniqueName('vic')];
    const room = uniqueName('xss-');
    const dialogs = [];
    const m = await t.newPage(await t.newContext(), mal);
    const v = await t.newPage(await t.newContext(), vic);
    for (const p of [m, v]) p.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });

    await registerViaUi(m, t.base, mal);
    await createRoomViaUi(m, room, '<b>not bold</b> <img src=x onerror=alert(5)>');
    await registerViaUi(v, t.base, vic, { room });

    for (const text of [...ATTACKS, LINK, LONG]) await say(m, text);
    for (const text of ATTACKS) await waitForMessage(v, text);
    await waitForMessage(v, LINK);

    async function check(page, label) {
      assert.deepEqual(dialogs, [], `${label}: a dialog fired`);
      assert.equal(await page.evaluate(() => window.pwned), undefined, `${label}: script ran`);
      assert.equal(await page.locator('#list-host img, #list-host svg, #list-host script, #list-host b').count(), 0, `${label}: markup became elements`);
      assert.equal(await page.locator('#room-list img, #room-topic b, #room-topic img').count(), 0, `${label}: topic became markup`);
      const texts = await page.$$eval('#list-host li.msg .msg-content', (els) => els.map((e) => e.textContent));
      for (const a of ATTACKS) assert.ok(texts.includes(a), `${label}: "${a}" is shown literally`);
      // Only http(s) links, opening in a new tab without an opener.
      const links = await page.$$eval('#list-host a', (as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.rel, target: a.target, text: a.textContent })));
      assert.ok(links.length >= 2, `${label}: the two addresses are links`);
      for (const l of links) {
        assert.match(l.href, /^https?:\/\//, `${label}: link ${l.href}`);
        assert.ok(l.rel.includes('noopener') && l.rel.includes('noreferrer') && l.target === '_blank');
      }
      assert.ok(links.some((l) => l.href === 'https://en.wikipedia.org/wiki/Foo_(bar)'), `${label}: ${JSON.stringify(links)}`);
      // Long text wraps inside the list: nothing scrolls sideways.
      const overflow = await page.$eval('#scroller', (s) => s.scrollWidth - s.clientWidth);
      assert.ok(overflow <= 0, `${label}: the list scrolls sideways by ${overflow}px`);
    }

    await check(v, 'live');
    await t.screenshot(v, 'live');

    // The same from history, after a reload.
    await v.reload();
    await waitForChat(v, room);
    await check(v, 'history');
    // The attacker's own page too.
    await check(m, 'sender');
    await t.screenshot(v, 'history');
  },
};
