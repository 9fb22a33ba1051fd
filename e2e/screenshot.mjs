// Makes docs/screenshot.png: three people chatting in #general, seen by one
// of them, with presence and a typing indicator. Not part of the suite:
//   PALAVER_BIN=target/debug/palaver node e2e/screenshot.mjs
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { registerViaUi, say, waitForMessage } from './lib/app.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = process.env.OUT || path.join(HERE, '..', 'docs', 'screenshot.png');
const SCHEME = process.env.COLOR_SCHEME || 'light';
const [VW, VH] = (process.env.VIEWPORT || '1280x760').split('x').map(Number);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'palaver-shot-'));
const server = await startServer({ bin: process.env.PALAVER_BIN, dataDir });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const page = async (w = VW, h = VH) => (await browser.newContext({ viewport: { width: w, height: h }, deviceScaleFactor: 1, colorScheme: SCHEME })).newPage();
  const [maya, leo, priya] = [await page(), await page(), await page()];
  await registerViaUi(maya, server.url, 'maya', { room: 'general' });
  await registerViaUi(leo, server.url, 'leo', { room: 'general' });
  await registerViaUi(priya, server.url, 'priya', { room: 'general' });
  const lines = [
    [leo, 'Morning all! Did anyone try the new build?'],
    [leo, 'It starts in well under a second here.'],
    [maya, 'Yes, works great. The page even came back by itself when I restarted the server'],
    [priya, 'Nice. Release notes are at https://example.com/palaver/releases'],
    [priya, 'Two things I still want:\n• a dark theme (it follows the system now)\n• message search'],
    [leo, 'Search is on my list for next week.'],
    [maya, 'I can review it. Lunch first?'],
  ];
  for (const [p, text] of lines) {
    await say(p, text);
    await waitForMessage(maya, text);
  }
  await priya.focus('#composer-input');
  await priya.keyboard.type('Lunch sounds good', { delay: 20 });
  await maya.waitForSelector('#typing:text("priya is typing…")');
  await maya.fill('#composer-input', '');
  await maya.evaluate(() => document.activeElement.blur());
  await maya.mouse.move(700, 30); // hover nothing in the list
  await maya.screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
