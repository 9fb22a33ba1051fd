// Driving palaver's own page the way a person would.
import assert from 'node:assert/strict';

export const PASSWORD = 'correct horse battery';

/** A username unique to this run (usernames are 3-32 of [A-Za-z0-9_.-]). */
export function uniqueName(prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 7)}`;
}

export async function openApp(page, base, room) {
  await page.goto(room ? `${base}/#${room}` : `${base}/`);
  await page.waitForFunction(() => document.body.dataset.view === 'auth' || document.body.dataset.view === 'chat');
}

/** Registers through the form (which logs in too) and waits for the chat to be live. */
export async function registerViaUi(page, base, username, { room, password = PASSWORD } = {}) {
  await openApp(page, base, room);
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', password);
  await page.click('#register-button');
  await waitForChat(page, room);
}

export async function waitForChat(page, room) {
  await page.waitForSelector('body[data-view="chat"][data-conn="open"]');
  if (room) await page.waitForSelector(`#room-list button[data-room="${room}"][aria-current="page"]`, { state: 'attached' });
  // History loaded (the room's start banner or a "load older" link is shown).
  await page.waitForSelector('#list-host .room-start:not(:has(.spinner))');
}

export async function enterRoom(page, room) {
  await page.click(`#room-list button[data-room="${room}"]`);
  await page.waitForSelector(`#room-list button[data-room="${room}"][aria-current="page"]`);
  await page.waitForSelector('#list-host .room-start:not(:has(.spinner))');
}

/** Creates a room through the sidebar form and enters it; `visibility`: 'public' (the default) or 'private'. */
export async function createRoomViaUi(page, name, topic = '', { visibility = 'public' } = {}) {
  const details = page.locator('#new-room');
  if (!(await details.evaluate((d) => d.open))) await page.click('#new-room summary');
  await page.fill('#new-room-name', name);
  await page.fill('#new-room-topic', topic);
  await page.check(`#new-room-${visibility}`);
  await page.click('#new-room-form button[type="submit"]');
  await page.waitForSelector(`#room-list button[data-room="${name}"][aria-current="page"]`);
}

/**
 * Makes the page's list of its rooms (GET /users/me/rooms) fail until
 * `unblock()`, so that a room that appears meanwhile can only have come
 * with an event (room_added), not with the list the page fetches every
 * 15 s. `blocked()`: how many requests were refused.
 */
export async function blockRoomList(page) {
  let n = 0;
  const handler = (route) => {
    n += 1;
    return route.abort();
  };
  await page.route('**/users/me/rooms', handler);
  return { blocked: () => n, unblock: () => page.unroute('**/users/me/rooms', handler) };
}

/** Opens the moderation menu of `user` in the member list of the room shown. */
export async function openMemberMenu(page, user) {
  const item = page.locator(`#member-list li[data-user="${user}"]`);
  const details = item.locator('details.member-actions');
  await details.waitFor();
  if (!(await details.evaluate((d) => d.open))) await item.locator('details.member-actions > summary').click();
  return item;
}

/** Types a message and presses Enter; waits until the server acknowledged it. */
export async function say(page, text) {
  await page.focus('#composer-input');
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
  await waitForAcked(page, text);
}

export async function waitForAcked(page, text, timeout = 10_000) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#list-host li.msg[data-id]:not(.pending)')].some((li) => li.querySelector('.msg-content').textContent === t),
    text,
    { timeout },
  );
}

/** Waits for a message with exactly this text to be shown. */
export async function waitForMessage(page, text, timeout = 10_000) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#list-host li.msg')].some((li) => li.querySelector('.msg-content').textContent === t),
    text,
    { timeout },
  );
}

/** The shown messages of the current room: [{id, user, text, pending}]. */
export function shownMessages(page) {
  return page.$$eval('#list-host li.msg', (lis) =>
    lis.map((li) => ({
      id: li.dataset.id ? Number(li.dataset.id) : null,
      user: li.dataset.user,
      text: li.querySelector('.msg-content').textContent,
      pending: li.classList.contains('pending'),
    })),
  );
}

export async function assertShownOnce(page, texts) {
  const shown = await shownMessages(page);
  for (const t of texts) {
    const n = shown.filter((m) => m.text === t).length;
    assert.equal(n, 1, `"${t}" should be shown exactly once, is shown ${n} times`);
  }
  const ids = shown.filter((m) => m.id !== null).map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, `a message id is shown twice: ${ids}`);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `messages out of order: ${ids}`);
}

/**
 * The session the page keeps: in IndexedDB (web/vault.js), with a copy in
 * localStorage. `patch` changes it: its fields are set, those in `remove`
 * dropped; `replace` puts another session (or null) in its place. Returns
 * the session as it was.
 */
export async function editStoredSession(page, { patch = {}, remove = [], replace } = {}) {
  return page.evaluate(
    async ({ patch, remove, replace, replacing }) => {
      const db = await new Promise((resolve, reject) => {
        const r = indexedDB.open('palaver', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('kv');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const inStore = await new Promise((resolve, reject) => {
        const r = db.transaction('kv').objectStore('kv').get('session');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const before = inStore ?? JSON.parse(localStorage.getItem('palaver.session'));
      let after = replacing ? replace : { ...before, ...patch };
      if (after) for (const k of remove) delete after[k];
      await new Promise((resolve, reject) => {
        const tx = db.transaction('kv', 'readwrite');
        tx.objectStore('kv').put(after, 'session');
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
      if (after) localStorage.setItem('palaver.session', JSON.stringify(after));
      else localStorage.removeItem('palaver.session');
      return before;
    },
    { patch, remove, replace: replace ?? null, replacing: replace !== undefined },
  );
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The stored message (not one on its way) whose text is exactly `text`; a tombstone's text is "Message deleted…". */
export function messageItem(page, text) {
  return page.locator('#list-host li.msg[data-id]:not(.pending)').filter({ has: page.locator('.msg-content', { hasText: new RegExp(`^${escapeRegExp(text)}$`) }) });
}

/** The message with this id. */
export function messageById(page, id) {
  return page.locator(`#list-host li.msg[data-id="${id}"]`);
}

/** Hovers a message and clicks one of its tools: react, reply, edit or delete. */
export async function messageTool(page, item, action) {
  await item.hover();
  const tool = item.locator(`.msg-toolbar button[data-action="${action}"]`);
  await tool.waitFor({ state: 'visible' });
  await tool.click();
}

/** The tools a message offers (hovered, as a mouse shows them). */
export async function offeredTools(page, item) {
  await item.hover();
  await item.locator('.msg-toolbar').waitFor({ state: 'visible' });
  return item.locator('.msg-toolbar button[data-action]:visible').evaluateAll((bs) => bs.map((b) => b.dataset.action));
}

/** The reaction chips of a message: [{emoji, count, me}]. */
export function chipsOf(item) {
  return item.locator('.reaction').evaluateAll((bs) =>
    bs.map((b) => ({ emoji: b.dataset.emoji, count: Number(b.querySelector('.reaction-count').textContent), me: b.getAttribute('aria-pressed') === 'true' })),
  );
}

/** Waits until a message's chips are exactly `expected` ([{emoji, count, me}], in order). */
export async function waitForChips(page, id, expected, timeout = 10_000) {
  await page.waitForFunction(
    ({ id, expected }) => {
      const li = document.querySelector(`#list-host li.msg[data-id="${id}"]`);
      if (!li) return false;
      const chips = [...li.querySelectorAll('.reaction')].map((b) => ({
        emoji: b.dataset.emoji,
        count: Number(b.querySelector('.reaction-count').textContent),
        me: b.getAttribute('aria-pressed') === 'true',
      }));
      return JSON.stringify(chips) === JSON.stringify(expected);
    },
    { id, expected },
    { timeout },
  );
}

/** The quote over a message that replies to another: {author, excerpt, deleted} or null. */
export function quoteOf(item) {
  return item.evaluate((li) => {
    const q = li.querySelector('.msg-quote');
    if (!q) return null;
    const text = q.querySelector('.quote-text');
    return { author: q.querySelector('.quote-author').textContent, excerpt: text.textContent, deleted: text.classList.contains('tombstone'), replyTo: Number(q.dataset.replyTo) };
  });
}
