// Which messages are grouped under one header.
import test from 'node:test';
import assert from 'node:assert/strict';
import { continuesGroup } from '../../web/messages.js';
import { dayKey } from '../../web/dom.js';

// Local times: grouping follows the reader's day.
const at = (h, m, day = 15) => new Date(2026, 0, day, h, m).toISOString();

test('same author within five minutes: one group', () => {
  assert.equal(continuesGroup({ user: 'ann', ts: at(12, 0) }, { user: 'ann', ts: at(12, 4) }), true);
});

test('five minutes or more apart: a new group', () => {
  assert.equal(continuesGroup({ user: 'ann', ts: at(12, 0) }, { user: 'ann', ts: at(12, 5) }), false);
});

test('another author: a new group', () => {
  assert.equal(continuesGroup({ user: 'ann', ts: at(12, 0) }, { user: 'bob', ts: at(12, 1) }), false);
});

test('across midnight: a new group, even a minute apart', () => {
  assert.equal(continuesGroup({ user: 'ann', ts: at(23, 59, 15) }, { user: 'ann', ts: at(0, 0, 16) }), false);
});

test('dayKey of an unreadable time is empty', () => {
  assert.equal(dayKey('not a time'), '');
  assert.equal(dayKey(at(12, 0)), dayKey(at(0, 0)));
});
