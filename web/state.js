// What the page knows while someone is logged in, and the settings the
// modules share. One object, so logging out can forget it all in one place.

export const ROOM_KEY = 'palaver.room';
export const HISTORY_PAGE = 50;
export const ACK_TIMEOUT = 10_000;
export const TYPING_EVERY = 2_000;
export const TYPING_SHOWN = 4_000;
export const GROUP_WINDOW = 5 * 60 * 1000;
export const ROOMS_REFRESH = 15_000;
/** setTimeout fires at once for delays beyond a signed 32-bit millisecond count. */
export const MAX_TIMER = 2_147_000_000;
/** The server's default limit on a message (PALAVER_MAX_MESSAGE_BYTES). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Everything the page knows; reset on log out. */
export const S = {
  session: null, // { token, refreshToken, username, expiresAt, lifetime } (session.js)
  keeper: null, // TokenKeeper (refresh.js): renews the session's access token
  vault: null, // where the session is kept (vault.js); set at boot, kept across logins
  leaving: false, // a log out is on its way to the server: its 4001 and 401s are expected
  expiredCloses: 0, // sockets closed for an expired token since a renewal last worked
  conn: null,
  afterSubscribe: null, // (room) => …, set by app.js: sends what waited for the room's subscribe
  rooms: new Map(), // name -> { name, topic, online_count?, visibility? }: every room the page has heard of
  directory: new Set(), // the public rooms of the last GET /rooms
  mine: new Map(), // name -> the rooms I am a member of (membership.js)
  mineVersion: 0, // bumped by every change to `mine` made here, so a list fetched before it merges (membership.js)
  gone: new Map(), // name -> { reason, text, rejoin }: removed from it (or it was deleted) while this page was open
  admin: false, // a server admin (GET /users/me): ranks above owners, except in direct rooms (roles.js)
  onRoomShown: null, // (room) => …, set by app.js: what else to draw when a room is shown
  onForbidden: null, // (room, detail) => …, set by app.js: its history was refused with a 403 (banned)
  views: new Map(), // name -> RoomView (messages.js)
  current: null,
  lastTypingSent: 0,
  timers: [],
};

/** Usernames are unique regardless of case. */
export function sameUser(a, b) {
  return a.toLowerCase() === b.toLowerCase();
}

export function isMe(user) {
  return !!S.session && sameUser(user, S.session.username);
}

export function uuid(random = globalThis.crypto) {
  if (random.randomUUID) return random.randomUUID();
  // Outside a secure context randomUUID is missing; build a v4 UUID by hand.
  const b = random.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
