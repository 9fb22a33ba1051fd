// Who may do what in a room, as far as the page needs to know to offer it.
// The server decides (docs/protocol.md); these rules only keep the page
// from offering what it is sure to refuse. Anything it offers and the
// server refuses anyway shows the server's `detail`.
//
// Ranks, lowest first: member < moderator < owner < server admin. Each may
// act on the ranks below it. An admin counts as an owner-and-more in public
// and private rooms, but a direct room is its members' alone: there an
// admin is just a member, and nobody moderates.

export const ROLES = ['member', 'moderator', 'owner'];

const RANK = { member: 1, moderator: 2, owner: 3 };
const ADMIN_RANK = 4;

/** 0 for no role (not a member). */
export function rankOf(role) {
  return RANK[role] ?? 0;
}

/** My rank in `room` ({ visibility, role }, or null when I am no member); `admin`: I am a server admin. */
export function myRank(room, admin) {
  const direct = room?.visibility === 'direct';
  if (admin && !direct) return ADMIN_RANK;
  return rankOf(room?.role);
}

/** Kick, ban, mute, invite and the topic: moderators and up, never in a direct room. */
export function canModerate(room, admin) {
  return room?.visibility !== 'direct' && myRank(room, admin) >= RANK.moderator;
}

/** Roles are set by owners (and admins) only. */
export function canSetRoles(room, admin) {
  return room?.visibility !== 'direct' && myRank(room, admin) >= RANK.owner;
}

/** Whether I may kick, ban or mute `target` (a member: { role }): strictly above them. Never myself. */
export function canActOn(room, admin, target, self) {
  return !self && canModerate(room, admin) && myRank(room, admin) > rankOf(target.role);
}

/** The members as the list shows them: owners, then moderators, then members; by name within each. */
export function byRank(members) {
  return [...members].sort((a, b) => rankOf(b.role) - rankOf(a.role) || a.username.localeCompare(b.username));
}
