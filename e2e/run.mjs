// The e2e runner: one real palaver, one headless Debian chromium, every
// scenario in scenarios/ in order. Each scenario saves a screenshot to
// artifacts/; a failing one also saves every page's console log there.
//
// Usage: node e2e/run.mjs [name-filter...]   (bash e2e/run.sh does the setup)
// Env:   PALAVER_BIN  the server binary (run.sh sets it)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const SCENARIO_TIMEOUT = 75_000;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const bin = process.env.PALAVER_BIN;
if (!bin || !fs.existsSync(bin)) {
  console.error(`PALAVER_BIN is not set or missing (${bin}); run bash e2e/run.sh`);
  process.exit(2);
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function loadScenarios(filters) {
  const dir = path.join(HERE, 'scenarios');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const all = [];
  for (const f of files) {
    const mod = await import(path.join(dir, f));
    all.push({ file: f, id: f.replace(/\.mjs$/, ''), ...mod.default });
  }
  return filters.length ? all.filter((s) => filters.some((f) => s.id.includes(f) || s.name.includes(f))) : all;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
    }),
  ]);
}

let passed = 0;
let failed = 0;

async function main() {
  const started = Date.now();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of fs.readdirSync(ARTIFACTS)) fs.rmSync(path.join(ARTIFACTS, f), { recursive: true, force: true });

  const scenarios = await loadScenarios(process.argv.slice(2));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'palaver-e2e-'));
  // Also when a signal ends the run (e2e/lib/server.mjs turns those into an exit).
  process.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const serverLog = fs.createWriteStream(path.join(ARTIFACTS, 'server.log'));
  const env = {
    bin,
    dataDir,
    serverLog,
    // Settings the scenarios rely on, whatever the environment says.
    serverEnv: { PALAVER_RATE_LIMIT: '20', PALAVER_MAX_MESSAGE_BYTES: '65536', PALAVER_TOKEN_TTL: '30m' },
    server: null,
  };
  env.server = await startServer({ bin, dataDir, env: env.serverEnv, log: (s) => serverLog.write(s) });
  console.log(`palaver at ${env.server.url} (data in ${dataDir})`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  console.log(`chromium ${browser.version()}`);

  for (const scenario of scenarios) {
    // A scenario that failed halfway may have left the server stopped.
    if (env.server.proc.exitCode !== null || env.server.proc.signalCode !== null) {
      console.log('  (restarting palaver, which a previous scenario left stopped)');
      env.server = await startServer({ bin, dataDir, port: env.server.port, env: env.serverEnv, log: (s) => serverLog.write(s) });
    }
    const tag = slug(scenario.id);
    const contexts = [];
    const pages = []; // { label, page, logs }
    const t0 = Date.now();
    const t = {
      env,
      browser,
      get base() {
        return env.server.url;
      },
      artifacts: ARTIFACTS,
      tag,
      log: (...a) => console.log(`    ${a.join(' ')}`),
      async newContext(options = {}) {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
        ctx.setDefaultTimeout(15_000);
        contexts.push(ctx);
        return ctx;
      },
      /** A page whose console is recorded; label names it in artifacts. */
      async newPage(ctx, label) {
        const page = await ctx.newPage();
        const entry = { label, page, logs: [] };
        const stamp = () => ((Date.now() - t0) / 1000).toFixed(2).padStart(6);
        page.on('console', (m) => entry.logs.push(`${stamp()} [${m.type()}] ${m.text()}`));
        page.on('pageerror', (e) => entry.logs.push(`${stamp()} [pageerror] ${e.stack || e.message}`));
        page.on('requestfailed', (r) => entry.logs.push(`${stamp()} [requestfailed] ${r.url()} ${r.failure()?.errorText}`));
        page.on('dialog', (d) => {
          entry.logs.push(`${stamp()} [dialog] ${d.type()}: ${d.message()}`);
        });
        pages.push(entry);
        return page;
      },
      /** Saves a named screenshot of a page into artifacts/. */
      async screenshot(page, name, options = {}) {
        const file = path.join(ARTIFACTS, `${tag}${name ? `-${slug(name)}` : ''}.png`);
        await page.screenshot({ path: file, ...options });
        return file;
      },
      /** Console errors about the Content-Security-Policy on palaver's own pages. */
      cspViolations() {
        return pages.flatMap((p) => p.logs.filter((l) => /Content Security Policy/i.test(l)).map((l) => `${p.label}: ${l}`));
      },
      pages,
    };

    process.stdout.write(`${tag} ${scenario.name}\n`);
    let error = null;
    try {
      await withTimeout(scenario.run(t), scenario.timeout || SCENARIO_TIMEOUT, scenario.name);
      if (!scenario.allowCsp) {
        const csp = t.cspViolations();
        if (csp.length) throw new Error(`CSP violations:\n${csp.join('\n')}`);
      }
    } catch (err) {
      error = err;
    }
    // Every scenario leaves a screenshot: the first page's, if it did not take one itself.
    const shot = fs.readdirSync(ARTIFACTS).some((f) => f.startsWith(tag) && f.endsWith('.png'));
    if (error || !shot) {
      for (const [i, p] of pages.entries()) {
        if (p.page.isClosed() || (!error && i > 0)) continue;
        try {
          await p.page.screenshot({ path: path.join(ARTIFACTS, `${tag}${error ? `-failed-${slug(p.label)}` : ''}.png`), timeout: 5_000 });
        } catch {
          /* the page may be gone */
        }
      }
    }
    if (error) {
      const logs = pages.map((p) => `===== ${p.label} (${p.page.isClosed() ? 'closed' : p.page.url()})\n${p.logs.join('\n')}`).join('\n\n');
      fs.writeFileSync(path.join(ARTIFACTS, `${tag}.console.log`), `${error.stack || error}\n\n${logs}\n`);
    }
    for (const ctx of contexts) await ctx.close().catch(() => {});
    if (scenario.cleanup) await scenario.cleanup(t).catch(() => {});
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (error) {
      failed += 1;
      console.log(`  FAIL ${scenario.name} (${secs} s)\n    ${String(error.stack || error).split('\n').slice(0, 8).join('\n    ')}`);
      console.log(`    console log: e2e/artifacts/${tag}.console.log`);
    } else {
      passed += 1;
      console.log(`  ok   ${scenario.name} (${secs} s)`);
    }
  }

  await browser.close();
  await env.server.stop();
  serverLog.end();
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
