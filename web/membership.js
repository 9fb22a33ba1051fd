// Which rooms are mine: the rooms I am a member of (GET /users/me/rooms,
// then kept live by room_added, removed and subscribing), what each is
// called (a direct room by the names of the others in it), and how the
// sidebar splits them from the public directory. No DOM here.
//
// The list is fetched now and then (rooms.js), and events change it in
// between. A list that was on its way while an event changed it would undo
// that change if it replaced the whole, so it then only adds: S.mineVersion
// says whether anything changed since the fetch began.

import { S, sameUser } from './state.js';

/** The others of a member list (which may or may not name me), sorted. */
export function othersIn(members, me) {
  if (!Array.isArray(members)) return [];
  return members.filter((m) => typeof m === 'string' && !(me && sameUser(m, me))).sort((a, b) => a.localeCompare(b));
}

/** What a direct room is called: the others in it. */
export function dmTitle(others) {
  return others.length ? others.join(', ') : 'Only you';
}

/** One entry of `mine` from an entry of GET /users/me/rooms, room_added's `room`, POST /dms or POST /rooms. */
export function mineEntry(r, me) {
  return {
    name: r.name,
    topic: typeof r.topic === 'string' ? r.topic : '',
    visibility: r.visibility || 'public',
    role: r.role || 'member',
    since: r.since ?? null,
    others: othersIn(r.members, me),
  };
}

/**
 * The new `mine` from the server's list. Replaced as a whole unless `merge`
 * (something changed here while the list was on its way): then it only adds
 * and updates, and never brings back a room I was removed from since.
 */
export function mergeMine(current, list, { merge, gone, me }) {
  const next = new Map(merge ? current : []);
  for (const r of list) {
    if (merge && gone.has(r.name)) continue;
    next.set(r.name, mineEntry(r, me));
  }
  return next;
}

function me() {
  return S.session?.username ?? null;
}

/** Takes the server's list of my rooms; `merge` as mergeMine's. */
export function applyMyRooms(list, merge) {
  S.mine = mergeMine(S.mine, list, { merge, gone: S.gone, me: me() });
  for (const entry of S.mine.values()) {
    // Listed again by the server: I am back in it (re-invited while this page was offline).
    if (!merge) S.gone.delete(entry.name);
    remember(entry);
  }
}

/** A room I am now a member of (created, invited, a DM, joined). */
export function addMine(r) {
  const entry = mineEntry(r, me());
  S.mine.set(entry.name, entry);
  S.gone.delete(entry.name);
  S.mineVersion += 1;
  remember(entry);
  return entry;
}

/**
 * I am no longer in it; `why` is what S.gone keeps ({ reason, text,
 * rejoin }), with what was known of the room: a direct room still goes by
 * the names of the others in it.
 */
export function dropMine(name, why) {
  const room = S.mine.get(name) || S.gone.get(name)?.room || S.rooms.get(name) || { name, visibility: 'public' };
  S.mine.delete(name);
  S.gone.set(name, { ...why, room });
  S.mineVersion += 1;
}

/**
 * Subscribing to a public room makes me its member (the server records
 * it), so it moves to my rooms at once, without waiting for the next list.
 */
export function noteSubscribed(name) {
  if (S.mine.has(name) || !S.directory.has(name)) return false;
  addMine({ name, topic: S.rooms.get(name)?.topic, visibility: 'public', role: 'member' });
  return true;
}

/** The directory's entry for a room keeps what it knew (online_count) and learns the rest. */
function remember(entry) {
  S.rooms.set(entry.name, { ...S.rooms.get(entry.name), name: entry.name, topic: entry.topic, visibility: entry.visibility });
}

/** What the page knows of a room: mine first (it has my role), else the directory's. */
export function roomInfo(name) {
  return S.mine.get(name) || S.gone.get(name)?.room || S.rooms.get(name) || null;
}

/** "#python", or for a direct room the others' names. */
export function roomLabel(name) {
  const room = roomInfo(name);
  if (room?.visibility === 'direct') return dmTitle(room.others || []);
  return `#${name}`;
}

/**
 * The sidebar's two lists: my rooms (rooms before direct ones, each by
 * name; those I was removed from stay, greyed, where they were) and the
 * public rooms I am not in.
 */
export function sidebarSections({ mine, gone, directory, rooms }) {
  const info = (name) => mine.get(name) || gone.get(name)?.room || rooms.get(name);
  const label = (name) => {
    const r = info(name);
    return r?.visibility === 'direct' ? dmTitle(r.others || []) : name;
  };
  const isDirect = (name) => info(name)?.visibility === 'direct';
  const names = [...new Set([...mine.keys(), ...gone.keys()])];
  names.sort((a, b) => isDirect(a) - isDirect(b) || label(a).localeCompare(label(b)));
  const others = [...directory].filter((n) => !mine.has(n) && !gone.has(n)).sort();
  return { mine: names, directory: others };
}
