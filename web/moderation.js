// What a moderator can do to one member of the open room: kick, ban (with
// an optional reason), mute (for a while, or until lifted) or unmute, and,
// for owners, set their role; and the room's bans, each with "Unban". The
// server decides every one of these: `done()` re-reads the members after
// it agreed, `fail(err)` shows its `detail` when it did not.
//
// No confirm() dialogs: opening a member's menu is the deliberate step,
// and a dialog would block the page (and its tests) until answered.

import { api } from './api.js';
import { h } from './dom.js';
import { ROLES } from './roles.js';
import { untilText } from './restrictions.js';
import { handleApiError } from './session.js';

/** The lengths a mute can have; null: until a moderator lifts it. */
export const MUTE_FOR = [
  ['10 minutes', 10 * 60_000],
  ['1 hour', 60 * 60_000],
  ['1 day', 24 * 60 * 60_000],
  ['until lifted', null],
];

/** The `until` of a mute or ban lasting `ms` from `now` (RFC 3339), or undefined for no end. */
export function untilFrom(ms, now = Date.now()) {
  return ms === null || ms === undefined ? undefined : new Date(now + ms).toISOString();
}

/** Runs one request for a button: disabled meanwhile, then done or fail. */
function action(button, request, { done, fail }) {
  return async (event) => {
    event?.preventDefault();
    button.disabled = true;
    try {
      await request();
      done();
    } catch (err) {
      if (!handleApiError(err)) fail(err);
    } finally {
      button.disabled = false;
    }
  };
}

/**
 * The menu of one member: `room` is the room's name, `member` its entry of
 * GET /rooms/{room}/members; `muted`: they are muted now; `setRoles`: I may
 * change roles here.
 */
export function memberActions(room, member, { muted, setRoles }, handlers) {
  const user = member.username;
  const body = h('div', { className: 'member-actions-body' });

  const kick = h('button', { className: 'secondary small', text: 'Kick', attrs: { type: 'button' }, dataset: { action: 'kick' } });
  kick.addEventListener('click', action(kick, () => api.kick(room, user), handlers));
  body.append(kick);

  if (muted) {
    const unmute = h('button', { className: 'secondary small', text: 'Unmute', attrs: { type: 'button' }, dataset: { action: 'unmute' } });
    unmute.addEventListener('click', action(unmute, () => api.unmute(room, user), handlers));
    body.append(unmute);
  } else {
    const length = h(
      'select',
      { attrs: { 'aria-label': `Mute ${user} for`, name: 'mute-for' } },
      ...MUTE_FOR.map(([label], i) => h('option', { text: label, attrs: { value: String(i) } })),
    );
    const mute = h('button', { className: 'secondary small', text: 'Mute', attrs: { type: 'button' }, dataset: { action: 'mute' } });
    mute.addEventListener('click', action(mute, () => api.mute(room, user, { until: untilFrom(MUTE_FOR[Number(length.value)]?.[1] ?? null) }), handlers));
    body.append(h('div', { className: 'action-row' }, mute, length));
  }

  const reason = h('input', { attrs: { name: 'reason', maxlength: '256', placeholder: 'Reason (optional)', 'aria-label': `Why ${user} is banned (optional)` } });
  const ban = h('button', { className: 'secondary small danger', text: 'Ban', attrs: { type: 'submit' }, dataset: { action: 'ban' } });
  const banForm = h('form', { className: 'action-row ban-form', attrs: { novalidate: true } }, reason, ban);
  banForm.addEventListener('submit', action(ban, () => api.ban(room, user, { reason: reason.value.trim() || undefined }), handlers));
  body.append(banForm);

  if (setRoles) {
    const role = h(
      'select',
      { attrs: { 'aria-label': `Role of ${user}`, name: 'role' } },
      ...ROLES.map((r) => h('option', { text: r, attrs: { value: r, selected: r === member.role } })),
    );
    const set = h('button', { className: 'secondary small', text: 'Set role', attrs: { type: 'button' }, dataset: { action: 'role' } });
    set.addEventListener('click', action(set, () => api.setRole(room, user, role.value), handlers));
    body.append(h('div', { className: 'action-row' }, role, set));
  }

  return h(
    'details',
    { className: 'member-actions' },
    h('summary', { text: '…', attrs: { 'aria-label': `Moderate ${user}`, title: `Moderate ${user}` } }),
    body,
  );
}

/** The bans in force, each with who banned, why, until when, and "Unban". */
export function banItems(room, bans, handlers) {
  return bans.map((b) => {
    const unban = h('button', { className: 'link-button', text: 'Unban', attrs: { type: 'button', 'aria-label': `Unban ${b.username}` }, dataset: { action: 'unban' } });
    unban.addEventListener('click', action(unban, () => api.unban(room, b.username), handlers));
    const what = [b.reason ? `“${b.reason}”` : null, untilText(b.until) || null, b.by ? `by ${b.by}` : null].filter(Boolean).join(' · ');
    return h(
      'li',
      { className: 'ban', dataset: { user: b.username } },
      h('span', { className: 'ban-name', text: b.username }),
      what ? h('span', { className: 'ban-what', text: what }) : null,
      unban,
    );
  });
}
