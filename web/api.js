// HTTP calls to palaver's API. Every error the server reports comes back as
// JSON `{"detail": ...}`; ApiError carries that detail so the page can show
// it next to the form that caused it.

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

async function call(method, path, { token, json, form } = {}) {
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
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch {
    throw new ApiError(0, describe(null, 0));
  }
  let data = null;
  const text = await response.text();
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

export const api = {
  register: (username, password) => call('POST', '/register', { json: { username, password } }),
  login: (username, password) => call('POST', '/token', { form: { username, password } }),
  me: (token) => call('GET', '/users/me', { token }),
  rooms: () => call('GET', '/rooms?detail=true'),
  room: (name) => call('GET', `/rooms/${encodeURIComponent(name)}`),
  createRoom: (token, name, topic) => call('POST', '/rooms', { token, json: { name, topic } }),
  history: (token, room, { before, limit = 50 } = {}) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined && before !== null) q.set('before', String(before));
    return call('GET', `/rooms/${encodeURIComponent(room)}/messages?${q}`, { token });
  },
};
