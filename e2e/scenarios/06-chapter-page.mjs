// The tutorial chapter's own page works unchanged against palaver.
//
// fixtures/chapter-client.html is the chapter's "client.html (further
// updated)" block, copied byte for byte from
// /work/shared/seed/000_555c7c79452b7ed6.txt (from the
// "<!-- client.html (further updated) -->" line to "</html>"). It hard-codes
// http://localhost:8000 and ws://localhost:8000, so this scenario starts a
// second palaver on 127.0.0.1:8000 and opens the page from a file:// URL.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer, portIsFree, somethingListens } from '../lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PAGE = pathToFileURL(path.join(HERE, '..', 'fixtures', 'chapter-client.html')).href;
const PORT = 8000;
let server = null;
let dataDir = null;

async function openChapter(t, label) {
  const page = await t.newPage(await t.newContext(), label);
  page.on('dialog', (d) => {
    t.dialogs.push(`${label}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  // The page lists the rooms from the server as it loads.
  const rooms = page.waitForResponse((r) => r.url() === 'http://localhost:8000/rooms');
  await page.goto(PAGE);
  assert.equal((await rooms).status(), 200);
  await page.waitForFunction(() => document.querySelectorAll('#roomSelect option').length === 4);
  return page;
}

const lines = (page) => page.$$eval('#messages > *', (els) => els.map((e) => e.textContent));

async function waitForLine(page, text, timeout = 10_000) {
  await page.waitForFunction((t) => [...document.querySelectorAll('#messages > *')].some((e) => e.textContent === t), text, { timeout });
}

async function register(page, user, password) {
  await page.fill('#usernameInput', user);
  await page.fill('#passwordInput', password);
  await page.click('button:text-is("Register")');
  await waitForLine(page, `User ${user} registered successfully!`);
}

async function login(page, room, user) {
  await page.click('button:text-is("Login")');
  await waitForLine(page, `Logged in as ${user}. Token obtained.`);
  await waitForLine(page, `Connected to room '${room}' as ${user}!`);
}

async function send(page, text) {
  await page.fill('#messageInput', text);
  await page.click('button:text-is("Send")');
}

export default {
  name: "the chapter's client.html works unchanged (file://, localhost:8000)",
  allowCsp: true,
  async run(t) {
    t.dialogs = [];
    if (!(await portIsFree(PORT, '127.0.0.1'))) {
      throw new Error('port 8000 on 127.0.0.1 is taken: the chapter page hard-codes localhost:8000, so this scenario needs it free. Stop whatever listens there and run again.');
    }
    if (await somethingListens(PORT, '::1')) {
      throw new Error('something listens on [::1]:8000: Chromium would send the chapter page there instead of to palaver. Stop it and run again.');
    }
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'palaver-e2e-chapter-'));
    server = await startServer({ bin: t.env.bin, dataDir, port: PORT, bind: '127.0.0.1', env: t.env.serverEnv, log: (s) => t.env.serverLog.write(`[chapter] ${s}`) });
    t.log(`second palaver on ${server.url}; the page talks to localhost:8000`);

    const [u1, u2, u3] = ['chapter_amy', 'chapter_ben', 'chapter_cy'];
    const password = 'chatpassword';
    const g1 = await openChapter(t, `${u1} (general)`);
    const g2 = await openChapter(t, `${u2} (general)`);
    const py = await openChapter(t, `${u3} (python)`);
    // Does "localhost" reach palaver, which listens on 127.0.0.1 only? (Chromium
    // may try ::1 first; nothing listens there, so it falls back to 127.0.0.1.)
    const via = await g1.evaluate(async () => (await fetch('http://localhost:8000/healthz')).text());
    assert.equal(via, 'ok');
    t.log('"localhost" from a file:// page reached palaver, which listens on 127.0.0.1 only');

    await register(g1, u1, password);
    await register(g2, u2, password);
    await register(py, u3, password);

    await login(g1, 'general', u1);
    await login(g2, 'general', u2);
    await waitForLine(g1, `Received: User '${u2}' joined room 'general'.`);
    await py.selectOption('#roomSelect', 'python');
    await login(py, 'python', u3);

    const hello = `hello general from ${u1}`;
    await send(g1, hello);
    await waitForLine(g1, `Received: [general] ${u1}: ${hello}`);
    await waitForLine(g2, `Received: [general] ${u1}: ${hello}`);
    const reply = `hi ${u1}, ${u2} here`;
    await send(g2, reply);
    await waitForLine(g1, `Received: [general] ${u2}: ${reply}`);
    await waitForLine(g2, `Received: [general] ${u2}: ${reply}`);

    const snake = 'only pythonistas hear this';
    await send(py, snake);
    await waitForLine(py, `Received: [python] ${u3}: ${snake}`);
    await g1.waitForTimeout(500);
    for (const [page, name] of [[g1, u1], [g2, u2]]) {
      const got = await lines(page);
      assert.ok(!got.some((l) => l.includes(snake)), `${name} in general received python's message`);
    }
    const pyLines = await lines(py);
    assert.ok(!pyLines.some((l) => l.includes('[general]') || l.includes(hello)), `python tab received general's messages: ${pyLines}`);

    // Fetch History shows the room's messages, oldest first.
    await g1.click('button:text-is("Fetch History")');
    await waitForLine(g1, "History for 'general':");
    const history = await g1.$$eval('#messages > *', (els) => {
      const all = els.map((e) => e.textContent);
      return all.slice(all.lastIndexOf("History for 'general':") + 1);
    });
    assert.equal(history.length, 2, `history: ${history}`);
    assert.match(history[0], new RegExp(`^\\[.+\\] ${u1}: ${hello}$`));
    assert.match(history[1], new RegExp(`^\\[.+\\] ${u2}: ${reply}$`));
    await py.click('button:text-is("Fetch History")');
    await waitForLine(py, "History for 'python':");
    await py.waitForFunction((want) => {
      const all = [...document.querySelectorAll('#messages > *')].map((e) => e.textContent);
      const from = all.lastIndexOf("History for 'python':");
      return from >= 0 && all.slice(from + 1).some((l) => /^\[.+\] /.test(l) && l.endsWith(want));
    }, `${u3}: ${snake}`);

    assert.deepEqual(t.dialogs, [], 'the page raised an alert');
    await t.screenshot(g1, 'general');
    await t.screenshot(py, 'python');
  },
  async cleanup() {
    if (server) await server.stop();
    server = null;
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  },
};
