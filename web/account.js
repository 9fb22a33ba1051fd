// The account dialog: change the password (which logs out every other
// session), see where you are logged in and end a session there, and log
// out everywhere. The server's reason for a refusal is shown in place.

import { api, ApiError } from './api.js';
import { el } from './elements.js';
import { S } from './state.js';
import { h, clear } from './dom.js';
import { handleApiError } from './session.js';

/** "Firefox on Linux" from a User-Agent header; the header itself when neither is known. */
export function describeAgent(ua) {
  if (typeof ua !== 'string' || !ua.trim()) return 'An unknown client';
  const browser = [
    [/Edg(e|A|iOS)?\//, 'Edge'],
    [/OPR\/|Opera/, 'Opera'],
    [/Firefox\/|FxiOS/, 'Firefox'],
    [/Chrom(e|ium)\/|CriOS/, 'Chrome'],
    [/Safari\//, 'Safari'],
  ].find(([re]) => re.test(ua))?.[1];
  const system = [
    [/Android/, 'Android'],
    [/iPhone|iPad|iPod/, 'iOS'],
    [/Windows/, 'Windows'],
    [/Mac OS X|Macintosh/, 'macOS'],
    [/CrOS/, 'ChromeOS'],
    [/Linux/, 'Linux'],
  ].find(([re]) => re.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser || system) return browser || system;
  return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
}

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function formatTime(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : when.format(d);
}

let onLogoutAll = async () => {};

export function openAccount() {
  el.passwordError.textContent = '';
  el.passwordDone.textContent = '';
  el.sessionsError.textContent = '';
  el.passwordForm.reset();
  el.passwordUsername.value = S.session?.username || '';
  if (!el.accountDialog.open) el.accountDialog.showModal();
  el.passwordCurrent.focus();
  loadSessions();
}

export function closeAccount() {
  if (el.accountDialog.open) el.accountDialog.close();
}

async function onChangePassword(event) {
  event.preventDefault();
  el.passwordError.textContent = '';
  el.passwordDone.textContent = '';
  const current = el.passwordCurrent.value;
  const next = el.passwordNew.value;
  if (!current || !next) {
    el.passwordError.textContent = 'Enter your current password and a new one.';
    (current ? el.passwordNew : el.passwordCurrent).focus();
    return;
  }
  if (next !== el.passwordAgain.value) {
    el.passwordError.textContent = 'The two new passwords differ.';
    el.passwordAgain.focus();
    return;
  }
  el.passwordSubmit.disabled = true;
  try {
    await api.changePassword(current, next);
    el.passwordForm.reset();
    el.passwordDone.textContent = 'Password changed. Your other sessions have been logged out; this one stays.';
    loadSessions();
  } catch (err) {
    if (handleApiError(err)) return;
    // 403: the current password is wrong; 422: the new one breaks the rules.
    el.passwordError.textContent = err instanceof ApiError ? err.detail : String(err);
    (err instanceof ApiError && err.status === 403 ? el.passwordCurrent : el.passwordNew).focus();
  } finally {
    el.passwordSubmit.disabled = false;
  }
}

function sessionItem(s) {
  const where = [describeAgent(s.user_agent), s.address].filter(Boolean).join(' · ');
  const li = h(
    'li',
    { className: `session${s.current ? ' current' : ''}`, dataset: { session: String(s.id) } },
    h(
      'span',
      { className: 'session-what' },
      h('strong', { text: where }),
      s.current ? h('span', { className: 'badge', text: 'this browser' }) : null,
    ),
    h('span', { className: 'session-when', text: `Last active ${formatTime(s.last_used_at)} · logged in ${formatTime(s.created_at)}` }),
  );
  if (!s.current) {
    const end = h('button', { className: 'secondary small', text: 'End', attrs: { type: 'button', 'aria-label': `End the session of ${where}` } });
    end.addEventListener('click', () => endOne(s.id, end));
    li.append(end);
  }
  return li;
}

async function loadSessions() {
  el.sessionList.setAttribute('aria-busy', 'true');
  el.sessionsError.textContent = '';
  try {
    const sessions = await api.sessions();
    clear(el.sessionList);
    // This browser's first, then the others, newest first (as the server lists them).
    const ordered = [...sessions.filter((s) => s.current), ...sessions.filter((s) => !s.current)];
    el.sessionList.append(...ordered.map(sessionItem));
  } catch (err) {
    if (handleApiError(err)) return;
    el.sessionsError.textContent = `Could not list the sessions: ${err.message}`;
  } finally {
    el.sessionList.setAttribute('aria-busy', 'false');
  }
}

async function endOne(id, button) {
  button.disabled = true;
  el.sessionsError.textContent = '';
  try {
    await api.endSession(id);
  } catch (err) {
    if (handleApiError(err)) return;
    // 404: it had ended already; the list below shows what is left.
    if (!(err instanceof ApiError && err.status === 404)) el.sessionsError.textContent = `Could not end that session: ${err.message}`;
  }
  loadSessions();
}

/** onLogoutAllClicked(): ends every session (app.js); rejects with what to show if it could not. */
export function wireAccount(onLogoutAllClicked) {
  onLogoutAll = onLogoutAllClicked;
  el.accountButton.addEventListener('click', openAccount);
  el.accountClose.addEventListener('click', closeAccount);
  el.passwordForm.addEventListener('submit', onChangePassword);
  el.logoutAll.addEventListener('click', async () => {
    el.logoutAll.disabled = true;
    el.sessionsError.textContent = '';
    try {
      await onLogoutAll();
    } catch (err) {
      el.sessionsError.textContent = `Could not log out everywhere: ${err.message}`;
    } finally {
      el.logoutAll.disabled = false;
    }
  });
  // A click on the backdrop (outside the dialog's box) closes it.
  el.accountDialog.addEventListener('click', (event) => {
    if (event.target === el.accountDialog) closeAccount();
  });
}
