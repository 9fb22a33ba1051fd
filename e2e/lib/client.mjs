// A direct palaver.v1 client (no browser), for a second user whose only
// job is to send messages; and plain HTTP helpers.
import WebSocket from 'ws';

export async function http(base, method, path, { token, json, form } = {}) {
  const headers = {};
  let body;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  if (form !== undefined) { headers['Content-Type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(form).toString(); }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return data;
}

/** Registers (if needed) and logs in; returns the token. */
export async function userToken(base, username, password = 'correct horse battery') {
  try {
    await http(base, 'POST', '/register', { json: { username, password } });
  } catch (err) {
    if (!String(err.message).includes('already registered')) throw err;
  }
  const t = await http(base, 'POST', '/token', { form: { username, password } });
  return t.access_token;
}

export class V1Client {
  static connect(wsBase, token) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}/ws`, ['palaver.v1', `bearer.${token}`]);
      const client = new V1Client(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = [];
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => !(w.match(frame) && (w.resolve(frame), true)));
    });
  }

  next(match, timeout = 10_000) {
    const found = this.frames.find(match);
    if (found) {
      this.frames.splice(this.frames.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('timed out waiting for a frame'));
      }, timeout);
      this.waiters.push(waiter);
    });
  }

  async subscribe(room) {
    this.ws.send(JSON.stringify({ type: 'subscribe', room, ref: `sub:${room}` }));
    return this.next((f) => f.type === 'subscribed' && f.room === room);
  }

  /** Sends and waits for the ack; returns it (with the stored id). */
  async send(room, content, clientId = `e2e-${Math.random().toString(36).slice(2)}`) {
    this.ws.send(JSON.stringify({ type: 'send', room, content, client_id: clientId, ref: clientId }));
    return this.next((f) => (f.type === 'ack' || f.type === 'error') && (f.client_id === clientId || f.ref === clientId)).then((f) => {
      if (f.type === 'error') throw new Error(`send refused: ${f.code} ${f.message}`);
      return f;
    });
  }

  /**
   * Any command with a client_id (edit, delete, react, unreact, a send with
   * reply_to…): sends it and waits for its ack, which it returns; an error
   * rejects.
   */
  async command(frame, clientId = `e2e-${Math.random().toString(36).slice(2)}`) {
    this.ws.send(JSON.stringify({ ...frame, client_id: clientId, ref: clientId }));
    const f = await this.next((x) => (x.type === 'ack' || x.type === 'error') && (x.client_id === clientId || x.ref === clientId));
    if (f.type === 'error') throw new Error(`${frame.type} refused: ${f.code} ${f.message}`);
    return f;
  }

  close() {
    this.ws.close(1000);
  }
}
