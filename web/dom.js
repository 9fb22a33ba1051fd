// Small DOM helpers. Text from users only ever enters the page through
// textContent / createTextNode: nothing here parses HTML.

/// Creates an element. `props` may hold className, text (set as
/// textContent), attrs (plain attributes) and dataset; children are nodes
/// or strings (strings become text nodes).
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  if (props.className) el.className = props.className;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.attrs) {
    for (const [k, v] of Object.entries(props.attrs)) {
      if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (props.dataset) Object.assign(el.dataset, props.dataset);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/// Appends `text` to `parent` as text nodes, with web addresses as links
/// that open in a new tab. A link's href is only ever an http(s) address.
export function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    const trailing = url.match(TRAILING);
    if (trailing) {
      // Keep a closing bracket that belongs to the address, e.g. wiki links.
      let cut = trailing[0];
      if (cut.startsWith(')') && url.includes('(')) cut = cut.slice(1);
      url = url.slice(0, url.length - cut.length);
    }
    if (!/^https?:\/\/./i.test(url)) continue;
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    const a = document.createElement('a');
    a.href = url;
    a.textContent = url;
    a.rel = 'noopener noreferrer nofollow';
    a.target = '_blank';
    parent.append(a);
    last = match.index + url.length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

const AVATAR_COLOURS = 8;

export function hashString(s) {
  let hash = 2166136261;
  for (let i = 0; i < s.length; i++) {
    hash ^= s.charCodeAt(i);
    hash = Math.imul(hash, 16777619);
  }
  return hash >>> 0;
}

/// A coloured circle with the user's initial.
export function avatar(user, extraClass = '') {
  const el = h('span', {
    className: `avatar av-${hashString(user.toLowerCase()) % AVATAR_COLOURS} ${extraClass}`.trim(),
    attrs: { 'aria-hidden': 'true' },
  });
  el.textContent = (user[0] || '?').toUpperCase();
  return el;
}

export function setAvatar(el, user) {
  for (const c of [...el.classList]) if (c.startsWith('av-')) el.classList.remove(c);
  el.classList.add(`av-${hashString(user.toLowerCase()) % AVATAR_COLOURS}`);
  el.textContent = (user[0] || '?').toUpperCase();
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

/// A `<time>` for an RFC 3339 UTC timestamp, shown in the reader's local time.
export function timeElement(ts) {
  const date = new Date(ts);
  const valid = !Number.isNaN(date.getTime());
  const el = h('time', { className: 'ts' });
  if (valid) {
    el.dateTime = date.toISOString();
    el.textContent = timeFormat.format(date);
    el.title = fullFormat.format(date);
  }
  return el;
}

export function dayKey(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function dayLabel(ts) {
  const d = new Date(ts);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(d) === dayKey(today)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  return dayFormat.format(d);
}
