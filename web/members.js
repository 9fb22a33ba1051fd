// The open room's members (GET /rooms/{room}/members): each one's role,
// whether they are online (live from presence once the room is subscribed),
// their name to click for a direct message, and, for those who may,
// moderation.js's menu for each and the invite form.
//
// No event says that someone else was added or removed, so the list is
// read again when the room is shown, after every change made here, and a
// moment after someone comes or goes (presence).

import { api } from './api.js';
import { el } from './elements.js';
import { S, isMe } from './state.js';
import { h, avatar } from './dom.js';
import { roomInfo } from './membership.js';
import { byRank, canActOn, canModerate, canSetRoles } from './roles.js';
import { memberActions, banItems } from './moderation.js';
import { handleApiError } from './session.js';

/** After a join or leave, how long to wait for others before reading the list again. */
const REFRESH_AFTER_PRESENCE = 1_500;

let presenceTimer = null;
/** What the list on the page was drawn from, so that reading the same again does not re-draw it (and close a menu being filled in). */
let drawn = '';
/** Answers to older requests (another room, an earlier state) are dropped. */
let requestSeq = 0;

/** Reads the members of `name` (and, for a moderator, its mutes and bans), then draws them if it is shown. */
export async function loadMembers(name) {
  const view = S.views.get(name);
  if (!view || !S.session || S.gone.has(name)) {
    if (S.current === name) renderMembers();
    return;
  }
  const seq = ++requestSeq;
  const room = roomInfo(name);
  const moderator = canModerate(room, S.admin);
  try {
    const [members, mutes, bans] = await Promise.all([
      api.members(name),
      // A moderator's extras: without them the list still shows.
      moderator ? api.mutes(name).catch(() => null) : null,
      moderator ? api.bans(name).catch(() => null) : null,
    ]);
    if (seq !== requestSeq) return;
    view.members = Array.isArray(members?.members) ? members.members : [];
    view.mutedUsers = new Set((mutes?.mutes || []).map((m) => m.username));
    view.bans = bans?.bans || [];
    el.membersError.textContent = '';
  } catch (err) {
    if (handleApiError(err)) return;
    // Not "Loading…" for ever: the error says what happened.
    if (view.members === null) view.members = [];
    // Removed meanwhile (a ban refuses this too): the note over the composer says it.
    if (S.current === name && !S.gone.has(name)) el.membersError.textContent = `Could not list the members: ${err.message}`;
  }
  if (S.current === name) renderMembers();
}

/** Someone came or went in `name`: read the list again soon, once for many. */
export function membersMayHaveChanged(name) {
  if (S.current !== name) return;
  clearTimeout(presenceTimer);
  presenceTimer = setTimeout(() => {
    if (S.current === name) loadMembers(name);
  }, REFRESH_AFTER_PRESENCE);
}

/**
 * Users who just came online in `name` and are not on its list: in a
 * public room, subscribing made them members, so they are shown at once as
 * members; the read that follows (membersMayHaveChanged) corrects their role.
 */
export function noteArrivals(name, users) {
  const view = S.views.get(name);
  if (!view?.members) return;
  const missing = users.filter((u) => !view.members.some((m) => m.username === u));
  if (!missing.length) return;
  view.members = [...view.members, ...missing.map((username) => ({ username, role: 'member', online: true }))];
  if (S.current === name) renderMembers();
}

/** Whether `user` is on the list of the open room (false while it is not known). */
export function isKnownMember(name, user) {
  return !!S.views.get(name)?.members?.some((m) => m.username === user);
}

function memberItem(name, view, room, member) {
  const self = isMe(member.username);
  const online = view.presenceKnown ? view.online.has(member.username) : !!member.online;
  const handlers = {
    done: () => loadMembers(name),
    fail: (err) => {
      el.membersError.textContent = err.message;
    },
  };
  return h(
    'li',
    { className: `member${online ? ' is-online' : ''}`, dataset: { user: member.username, role: member.role } },
    h('span', { className: 'presence-dot', attrs: { title: online ? 'online' : 'offline', 'aria-label': online ? 'online' : 'offline', role: 'img' } }),
    avatar(member.username, 'small'),
    h(
      'span',
      { className: 'member-who' },
      self
        ? h('span', { className: 'member-name', text: member.username })
        : h('button', {
            className: 'member-name user-link',
            text: member.username,
            attrs: { type: 'button', title: `Send ${member.username} a direct message` },
            dataset: { user: member.username },
          }),
      self ? h('span', { className: 'you', text: 'you' }) : null,
      member.role !== 'member' ? h('span', { className: `role-badge ${member.role}`, text: member.role }) : null,
      view.mutedUsers.has(member.username) ? h('span', { className: 'role-badge muted', text: 'muted' }) : null,
    ),
    canActOn(room, S.admin, member, self)
      ? memberActions(name, member, { muted: view.mutedUsers.has(member.username), setRoles: canSetRoles(room, S.admin) }, handlers)
      : null,
  );
}

/** Who is online changed: only the dots change, the list stays as it is. */
export function renderMemberPresence() {
  const view = S.current ? S.views.get(S.current) : null;
  if (!view) return;
  for (const li of el.memberList.children) {
    const member = view.members?.find((m) => m.username === li.dataset.user);
    const online = view.presenceKnown ? view.online.has(li.dataset.user) : !!member?.online;
    li.classList.toggle('is-online', online);
    const dot = li.querySelector('.presence-dot');
    dot.title = online ? 'online' : 'offline';
    dot.setAttribute('aria-label', dot.title);
  }
}

/** Draws the panel of the open room: members, invite, bans (room-settings.js draws topic and leave). */
export function renderMembers() {
  const name = S.current;
  const view = name ? S.views.get(name) : null;
  el.roomPanel.hidden = !view;
  if (!view) return;
  const room = roomInfo(name);
  const gone = S.gone.get(name);
  const moderator = !gone && canModerate(room, S.admin);
  if (gone) el.membersError.textContent = '';
  const signature = JSON.stringify([S.session?.username, name, !!gone, moderator, canSetRoles(room, S.admin), view.members, [...view.mutedUsers], view.bans]);
  if (signature === drawn) {
    renderMemberPresence();
    return;
  }
  drawn = signature;
  // An open menu survives the re-draw that presence causes.
  const open = el.memberList.querySelector('details[open]')?.closest('li')?.dataset.user;
  const members = gone ? [] : byRank(view.members || []);
  el.memberCount.textContent = String(members.length);
  el.membersNote.hidden = !gone && view.members !== null;
  el.membersNote.textContent = gone ? (gone.reason === 'deleted' ? 'This room was deleted.' : 'You are no longer a member of this room.') : 'Loading the members…';
  el.memberList.replaceChildren(...members.map((m) => memberItem(name, view, room, m)));
  if (open) {
    const again = [...el.memberList.children].find((li) => li.dataset.user === open)?.querySelector('details');
    if (again) again.open = true;
  }
  el.inviteForm.hidden = !moderator;
  const bans = moderator ? view.bans : [];
  el.bansSection.hidden = !bans.length;
  el.banList.replaceChildren(
    ...banItems(name, bans, {
      done: () => loadMembers(name),
      fail: (err) => {
        el.membersError.textContent = err.message;
      },
    }),
  );
}

async function onInvite(event) {
  event.preventDefault();
  const name = S.current;
  const username = el.inviteName.value.trim();
  el.inviteError.textContent = '';
  el.inviteDone.textContent = '';
  if (!name || !username) {
    el.inviteError.textContent = 'Whom? Type their username.';
    el.inviteName.focus();
    return;
  }
  try {
    await api.invite(name, username);
    el.inviteName.value = '';
    el.inviteDone.textContent = `${username} is a member now.`;
    loadMembers(name);
  } catch (err) {
    if (handleApiError(err)) return;
    el.inviteError.textContent = err.message;
  }
}

/** Logged out: nothing of it stays on the page. */
export function clearMembers() {
  clearTimeout(presenceTimer);
  drawn = '';
  el.memberList.replaceChildren();
  el.banList.replaceChildren();
  el.roomPanel.hidden = true;
}

export function wireMembers() {
  el.inviteForm.addEventListener('submit', onInvite);
}

/** A room was shown: forget what the forms said about the last one, then read its members. */
export function showMembers(name) {
  el.membersError.textContent = '';
  el.inviteError.textContent = '';
  el.inviteDone.textContent = '';
  renderMembers();
  loadMembers(name);
}
