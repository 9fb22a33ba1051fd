// Which rooms are mine and what the sidebar calls them; a list fetched
// while an event changed them must not undo that change.
import test from 'node:test';
import assert from 'node:assert/strict';
import { othersIn, dmTitle, mineEntry, mergeMine, sidebarSections } from '../../web/membership.js';
import { restriction, removalText, deletedText, mutedText, untilText } from '../../web/restrictions.js';
import { untilFrom } from '../../web/moderation.js';
import { S } from '../../web/state.js';

test('a direct room goes by the others in it, whether or not the list names me', () => {
  assert.deepEqual(othersIn(['Ann', 'bob', 'cy'], 'ann'), ['bob', 'cy'], 'names are unique regardless of case');
  assert.deepEqual(othersIn(['cy', 'bob'], 'ann'), ['bob', 'cy']);
  assert.deepEqual(othersIn(undefined, 'ann'), []);
  assert.equal(dmTitle(['bob', 'cy']), 'bob, cy');
  assert.equal(dmTitle([]), 'Only you');
  const dm = mineEntry({ name: 'dm-0123456789abcdef01234567', visibility: 'direct', members: ['ann', 'bob'] }, 'ann');
  assert.deepEqual(dm, { name: 'dm-0123456789abcdef01234567', topic: '', visibility: 'direct', role: 'member', since: null, others: ['bob'] });
  assert.equal(mineEntry({ name: 'python' }, 'ann').visibility, 'public');
});

test("the server's list replaces mine, unless something changed meanwhile: then it only adds", () => {
  const current = new Map([['kept', mineEntry({ name: 'kept', role: 'owner' })]]);
  const gone = new Map([['left-meanwhile', { reason: 'kicked' }]]);
  const list = [{ name: 'python', role: 'member' }, { name: 'left-meanwhile', role: 'member' }];
  const replaced = mergeMine(current, list, { merge: false, gone, me: 'ann' });
  assert.deepEqual([...replaced.keys()], ['python', 'left-meanwhile'], 'the server knows best when nothing changed here');
  const merged = mergeMine(current, list, { merge: true, gone, me: 'ann' });
  assert.deepEqual([...merged.keys()].sort(), ['kept', 'python'], 'an older list neither drops a room added since nor brings back one left since');
  assert.equal(current.size, 1, 'the map in use is not changed');
});

test('the sidebar: my rooms (rooms, then direct ones), then the public rooms I am not in', () => {
  const mine = new Map([
    ['zoo', mineEntry({ name: 'zoo', visibility: 'private' })],
    ['dm-b', mineEntry({ name: 'dm-b', visibility: 'direct', members: ['ann', 'abe'] }, 'ann')],
    ['dm-a', mineEntry({ name: 'dm-a', visibility: 'direct', members: ['zed'] }, 'ann')],
    ['general', mineEntry({ name: 'general' })],
  ]);
  const gone = new Map([['banned-here', { reason: 'banned', room: { name: 'banned-here', visibility: 'public' } }]]);
  const directory = new Set(['general', 'random', 'banned-here', 'python']);
  const { mine: mineNames, directory: others } = sidebarSections({ mine, gone, directory, rooms: new Map() });
  assert.deepEqual(mineNames, ['banned-here', 'general', 'zoo', 'dm-b', 'dm-a'], 'direct rooms last, by the names shown (abe before zed)');
  assert.deepEqual(others, ['python', 'random'], 'the directory leaves out mine and those I was removed from');
});

test('why the composer is closed, in words', () => {
  assert.equal(removalText('#python', 'kicked'), 'You were removed from #python (kicked).');
  assert.equal(removalText('#python', 'banned', ' spam '), 'You were removed from #python (banned): spam.');
  assert.equal(removalText('#python', 'banned', ''), 'You were removed from #python (banned).');
  assert.equal(removalText('bob', 'left'), 'You left bob.');
  assert.equal(removalText('#python', 'something new'), 'You were removed from #python (removed).');
  assert.equal(deletedText('#python'), '#python was deleted.');
  assert.match(mutedText('#python'), /^You are muted in #python: you can read, not write\.$/);
  assert.match(mutedText('#python', '2030-01-02T03:04:05Z'), /^You are muted in #python until .*2030.*: you can read/);
  assert.equal(untilText('not a time'), '');
  assert.equal(untilText(null), '');
});

test('restriction: gone first, then muted, else none', () => {
  S.gone.set('out', { reason: 'kicked', text: 'You were removed from #out (kicked).', rejoin: true });
  S.views.set('quiet', { muted: { until: null, text: 'You are muted in #quiet.' } });
  S.views.set('open', { muted: null });
  try {
    assert.deepEqual(restriction('out'), { kind: 'gone', text: 'You were removed from #out (kicked).', rejoin: true });
    assert.deepEqual(restriction('quiet'), { kind: 'muted', text: 'You are muted in #quiet.', rejoin: false });
    assert.equal(restriction('open'), null);
    assert.equal(restriction(null), null);
  } finally {
    S.gone.clear();
    S.views.clear();
  }
});

test('a mute or ban for a while ends then; "until lifted" has no end', () => {
  assert.equal(untilFrom(60_000, Date.UTC(2030, 0, 1)), '2030-01-01T00:01:00.000Z');
  assert.equal(untilFrom(null), undefined);
});
