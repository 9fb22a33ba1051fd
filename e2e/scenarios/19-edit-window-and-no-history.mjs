// A server that keeps no edit history and allows edits for a few seconds
// only (a second palaver, PALAVER_KEEP_EDIT_HISTORY=false and
// PALAVER_EDIT_WINDOW=4s). "(edited)" then says that no earlier versions
// are kept; an edit after the window is refused: the page takes back the
// text it showed while asking and says why. Deleting has no window.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerViaUi, createRoomViaUi, say, waitForMessage, uniqueName, messageItem } from '../lib/app.mjs';
import { startServer } from '../lib/server.mjs';

const WINDOW_S = 4;
let server = null;
let dataDir = null;

export default {
  name: 'an edit window and no edit history: versions not kept, a late edit refused and taken back',
  async run(t) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'palaver-e2e-window-'));
    server = await startServer({
      bin: t.env.bin,
      dataDir,
      env: { ...t.env.serverEnv, PALAVER_KEEP_EDIT_HISTORY: 'false', PALAVER_EDIT_WINDOW: `${WINDOW_S}s` },
      log: (s) => t.env.serverLog.write(`[window] ${s}`),
    });
    const amy = uniqueName('amy');
    const room = uniqueName('window-');
    const a = await t.newPage(await t.newContext(), amy);
    await registerViaUi(a, server.url, amy);
    await createRoomViaUi(a, room, 'Quick fingers');

    await say(a, 'first draft');
    const ts = await messageItem(a, 'first draft').getAttribute('data-ts');
    await a.focus('#composer-input');
    await a.keyboard.press('ArrowUp');
    await a.fill('#composer-input', 'second draft');
    await a.keyboard.press('Enter');
    await waitForMessage(a, 'second draft');
    const item = messageItem(a, 'second draft');
    await item.locator('.msg-edited').click();
    await item.locator('.versions-status:text("not kept on this server")').waitFor();
    await t.screenshot(a, 'not-kept');
    await item.locator('.versions button[data-close="panel"]').click();
    await item.locator('.versions').waitFor({ state: 'detached' });

    // Once the window has passed (by the server's clock, which is this machine's), an edit is refused.
    await a.waitForFunction((deadline) => Date.now() > deadline, Date.parse(ts) + (WINDOW_S + 1) * 1000, { timeout: (WINDOW_S + 10) * 1000 });
    await a.focus('#composer-input');
    await a.keyboard.press('ArrowUp');
    await a.fill('#composer-input', 'third draft');
    await a.keyboard.press('Enter');
    await a.waitForSelector('#toast:not([hidden]):text("Could not edit the message: It is too late to edit that message.")');
    await waitForMessage(a, 'second draft');
    assert.equal(await messageItem(a, 'third draft').count(), 0, 'the refused text is taken back');
    assert.equal(await messageItem(a, 'second draft').evaluate((li) => li.classList.contains('saving')), false);

    // Deleting has no window.
    await item.hover();
    await item.locator('.msg-toolbar button[data-action="delete"]').click();
    await a.click('.confirm-delete button[data-confirm="delete"]');
    await a.waitForSelector('#list-host li.msg .msg-content.tombstone:text-is("Message deleted")');
  },
  async cleanup() {
    if (server) await server.stop();
    server = null;
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    dataDir = null;
  },
};
