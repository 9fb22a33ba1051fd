// Who may do what in a room, as the page offers it: ranks, admins, direct rooms.
import test from 'node:test';
import assert from 'node:assert/strict';
import { rankOf, myRank, canModerate, canSetRoles, canActOn, byRank } from '../../web/roles.js';

const room = (visibility, role) => ({ visibility, role });

test('ranks: member < moderator < owner < admin; no role is no rank', () => {
  assert.ok(rankOf('member') < rankOf('moderator') && rankOf('moderator') < rankOf('owner'));
  assert.equal(rankOf(undefined), 0);
  assert.equal(rankOf('admin'), 0, 'admin is no room role');
  assert.ok(myRank(room('public', 'member'), true) > rankOf('owner'), 'an admin outranks owners');
  assert.equal(myRank(null, false), 0);
});

test('moderating: moderators and up, never in a direct room, admins too', () => {
  assert.equal(canModerate(room('public', 'member'), false), false);
  assert.equal(canModerate(room('private', 'moderator'), false), true);
  assert.equal(canModerate(room('public', 'owner'), false), true);
  assert.equal(canModerate(room('public', undefined), true), true, 'an admin who is no member');
  assert.equal(canModerate(room('direct', 'member'), true), false, 'an admin in a DM is just a member');
  assert.equal(canModerate(room('direct', 'owner'), false), false);
});

test('roles are set by owners and admins only', () => {
  assert.equal(canSetRoles(room('public', 'moderator'), false), false);
  assert.equal(canSetRoles(room('private', 'owner'), false), true);
  assert.equal(canSetRoles(room('private', 'member'), true), true);
  assert.equal(canSetRoles(room('direct', 'member'), true), false);
});

test('acting on someone: strictly above them, never on myself', () => {
  const mod = room('public', 'moderator');
  const owner = room('public', 'owner');
  assert.equal(canActOn(mod, false, { role: 'member' }, false), true);
  assert.equal(canActOn(mod, false, { role: 'moderator' }, false), false, 'a moderator on another moderator');
  assert.equal(canActOn(mod, false, { role: 'owner' }, false), false);
  assert.equal(canActOn(owner, false, { role: 'moderator' }, false), true);
  assert.equal(canActOn(owner, false, { role: 'owner' }, false), false, 'an owner on another owner');
  assert.equal(canActOn(owner, false, { role: 'member' }, true), false, 'myself');
  assert.equal(canActOn(room('public', 'member'), true, { role: 'owner' }, false), true, 'an admin on an owner');
});

test('the member list: owners, moderators, members, by name', () => {
  const sorted = byRank([
    { username: 'zed', role: 'member' },
    { username: 'amy', role: 'member' },
    { username: 'mod', role: 'moderator' },
    { username: 'own', role: 'owner' },
  ]);
  assert.deepEqual(sorted.map((m) => m.username), ['own', 'mod', 'amy', 'zed']);
});
