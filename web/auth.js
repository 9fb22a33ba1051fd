// The login / registration form. The server's own reason for a refusal is
// shown next to the form.

import { api, ApiError } from './api.js';
import { el } from './elements.js';
import { setView } from './layout.js';
import { sessionFromToken } from './session.js';

export function showAuth(notice) {
  setView('auth');
  el.authNotice.hidden = !notice;
  el.authNotice.textContent = notice || '';
  el.authError.textContent = '';
  el.authPass.value = '';
  setBusy(false);
  (el.authUser.value ? el.authPass : el.authUser).focus();
}

function setBusy(busy) {
  el.loginButton.disabled = busy;
  el.registerButton.disabled = busy;
  el.authForm.setAttribute('aria-busy', busy ? 'true' : 'false');
}

function credentials() {
  return { username: el.authUser.value.trim(), password: el.authPass.value };
}

async function logIn(username, password, onLoggedIn) {
  const session = sessionFromToken(await api.login(username, password), username);
  try {
    const me = await api.me(session.token);
    session.username = me.username;
  } catch {
    /* keep the name as typed */
  }
  await onLoggedIn(session);
}

/** Runs `attempt` with the form busy; its failure is shown under the form. */
async function submit(missing, attempt) {
  const { username, password } = credentials();
  el.authError.textContent = '';
  if (!username || !password) {
    el.authError.textContent = missing;
    return;
  }
  setBusy(true);
  try {
    await attempt(username, password);
  } catch (err) {
    el.authError.textContent = err instanceof ApiError ? err.detail : String(err);
    setBusy(false);
  }
}

/** onLoggedIn(session) runs once a login or a registration succeeded; it keeps the session. */
export function wireAuth(onLoggedIn) {
  el.authForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submit('Enter a username and a password.', (username, password) => logIn(username, password, onLoggedIn));
  });
  el.registerButton.addEventListener('click', () =>
    submit('Choose a username and a password.', async (username, password) => {
      await api.register(username, password);
      await logIn(username, password, onLoggedIn);
    }),
  );
}
