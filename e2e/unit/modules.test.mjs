// The shape of web/: what the browser loads from index.html, one way.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const modules = fs.readdirSync(WEB).filter((f) => f.endsWith('.js')).sort();
const source = (f) => fs.readFileSync(path.join(WEB, f), 'utf8');

/** The relative imports of a module (the client has no others: no CDN, no packages). */
function importsOf(file) {
  const found = [];
  for (const m of source(file).matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms)) found.push(m[1]);
  return found;
}

test('every import is a file of web/, and nothing comes from elsewhere', () => {
  for (const f of modules) {
    for (const spec of importsOf(f)) {
      assert.match(spec, /^\.\/[a-z-]+\.js$/, `${f} imports ${spec}`);
      assert.ok(modules.includes(spec.slice(2)), `${f} imports ${spec}, which does not exist`);
    }
  }
});

test('the modules import one another one way (no cycle)', () => {
  const graph = new Map(modules.map((f) => [f, importsOf(f).map((s) => s.slice(2))]));
  const done = new Set();
  function visit(f, trail) {
    if (trail.includes(f)) assert.fail(`import cycle: ${[...trail.slice(trail.indexOf(f)), f].join(' → ')}`);
    if (done.has(f)) return;
    for (const g of graph.get(f) || []) visit(g, [...trail, f]);
    done.add(f);
  }
  for (const f of modules) visit(f, []);
});

test('index.html loads app.js, and app.js reaches every module', () => {
  assert.match(fs.readFileSync(path.join(WEB, 'index.html'), 'utf8'), /<script type="module" src="\/static\/app\.js"><\/script>/);
  const seen = new Set();
  const walk = (f) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const s of importsOf(f)) walk(s.slice(2));
  };
  walk('app.js');
  assert.deepEqual([...seen].sort(), modules);
});

test('only app.js does anything on import (the rest load outside a browser)', async () => {
  for (const f of modules.filter((m) => m !== 'app.js')) await import(path.join(WEB, f));
});

test('user text never goes through an HTML parser', () => {
  for (const f of modules) {
    const code = source(f).replace(/^\s*\/\/.*$/gm, '');
    assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, f);
  }
});
