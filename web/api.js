// HTTP calls to palaver's API. Every error the server reports comes back as
// JSON `{"detail": ...}`; ApiError carries that detail so the page can show
// it next to the form that caused it.
//
// Calls that need the user's token ask a token provider for it (the page
// sets one with useTokens): on a 401 they ask it once for a fresh token and
// try again, so an access token that expired a moment ago costs the user
// nothing. A second 401, or a provider that cannot renew, reaches the caller.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

/// Turns whatever `detail` holds into one readable sentence.
function describe(detail, status) {
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && typeof d.msg === 'string' ? d.msg : String(d))).join('; ');
  }
  if (status === 0) return 'Cannot reach the server. Check your connection and try again.';
  return `The server answered ${status}.`;
}

async function call(method, path, { token, json, form, timeout } = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const signal = timeout ? AbortSignal.timeout(timeout) : undefined;
  let response;
  let text;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store', signal });
    text = await response.text();
  } catch {
    throw new ApiError(0, describe(null, 0));
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, describe(data && data.detail, response.status));
  }
  return data;
}

/**
 * Runs `attempt(token)` with the provider's token; on a 401, once more with
 * the token `provider.renew(rejected)` gives. renew rejects (with an
 * ApiError 401 when the session is over) if there is no other token.
 */
export async function withRenewal(attempt, provider) {
  const token = provider ? provider.current() : null;
  try {
    return await attempt(token);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401 || !provider || !token) throw err;
    const fresh = await provider.renew(token);
    return attempt(fresh);
  }
}

let provider = null;

/** provider: { current() → the access token, renew(rejected) → a promise of another }. */
export function useTokens(tokens) {
  provider = tokens;
}

function authed(method, path, options = {}) {
  return withRenewal((token) => call(method, path, { ...options, token }), provider);
}

function room(name) {
  return `/rooms/${encodeURIComponent(name)}`;
}

/** How long a refresh may take: the cross-tab lock is held meanwhile. */
const REFRESH_TIMEOUT = 10_000;

export const api = {
  register: (username, password) => call('POST', '/register', { json: { username, password } }),
  login: (username, password) => call('POST', '/token', { form: { username, password } }),
  refresh: (refreshToken) => call('POST', '/token/refresh', { json: { refresh_token: refreshToken }, timeout: REFRESH_TIMEOUT }),
  /** With a token given (just logged in, no session yet), no renewal. */
  me: (token) => (token ? call('GET', '/users/me', { token }) : authed('GET', '/users/me')),
  rooms: () => call('GET', '/rooms?detail=true'),
  /** With the token: a private or direct room exists only for its members. */
  room: (name) => authed('GET', room(name)),
  createRoom: (name, topic, visibility = 'public') => authed('POST', '/rooms', { json: { name, topic, visibility } }),
  updateRoom: (name, changes) => authed('PATCH', room(name), { json: changes }),
  myRooms: () => authed('GET', '/users/me/rooms'),
  join: (name) => authed('POST', `${room(name)}/join`),
  leave: (name) => authed('POST', `${room(name)}/leave`),
  /** A direct room with these others (the server adds me): created, or the one that exists. */
  dm: (usernames) => authed('POST', '/dms', { json: { usernames } }),
  members: (name) => authed('GET', `${room(name)}/members`),
  invite: (name, username) => authed('POST', `${room(name)}/members`, { json: { username } }),
  setRole: (name, username, role) => authed('PATCH', `${room(name)}/members/${encodeURIComponent(username)}`, { json: { role } }),
  kick: (name, username) => authed('DELETE', `${room(name)}/members/${encodeURIComponent(username)}`),
  bans: (name) => authed('GET', `${room(name)}/bans`),
  /** reason and until (RFC 3339) are optional; undefined ones are left out of the JSON. */
  ban: (name, username, { reason, until } = {}) => authed('POST', `${room(name)}/bans`, { json: { username, reason, until } }),
  unban: (name, username) => authed('DELETE', `${room(name)}/bans/${encodeURIComponent(username)}`),
  mutes: (name) => authed('GET', `${room(name)}/mutes`),
  mute: (name, username, { until } = {}) => authed('POST', `${room(name)}/mutes`, { json: { username, until } }),
  unmute: (name, username) => authed('DELETE', `${room(name)}/mutes/${encodeURIComponent(username)}`),
  history: (room, { before, limit = 50 } = {}) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined && before !== null) q.set('before', String(before));
    return authed('GET', `/rooms/${encodeURIComponent(room)}/messages?${q}`);
  },
  /** A message's versions, oldest first (404 when the server keeps no edit history). */
  versions: (name, id) => authed('GET', `${room(name)}/messages/${encodeURIComponent(String(id))}/versions`),
  logout: () => authed('POST', '/logout'),
  logoutAll: () => authed('POST', '/logout/all'),
  changePassword: (currentPassword, newPassword) =>
    authed('POST', '/users/me/password', { json: { current_password: currentPassword, new_password: newPassword } }),
  sessions: () => authed('GET', '/users/me/sessions'),
  endSession: (id) => authed('DELETE', `/users/me/sessions/${encodeURIComponent(id)}`),
};
