// What the sessions list calls a client.
import test from 'node:test';
import assert from 'node:assert/strict';
import { describeAgent } from '../../web/account.js';

test('a browser and its system, from the User-Agent', () => {
  const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
  assert.equal(describeAgent(chrome), 'Chrome on Linux');
  assert.equal(describeAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'), 'Firefox on Windows');
  assert.equal(
    describeAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'),
    'Safari on iOS',
  );
  assert.equal(describeAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0'), 'Edge on Windows');
  assert.equal(describeAgent('Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36'), 'Chrome on Android');
});

test('other clients by their own name; none at all said so', () => {
  assert.equal(describeAgent('curl/8.5.0'), 'curl/8.5.0');
  assert.equal(describeAgent('x'.repeat(100)).length, 58);
  assert.equal(describeAgent(null), 'An unknown client');
  assert.equal(describeAgent('  '), 'An unknown client');
});
