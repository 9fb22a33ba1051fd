// Which view shows (auth or chat) and the drawers of narrow screens.

import { el } from './elements.js';

export function setView(name) {
  document.body.dataset.view = name;
  el.boot.hidden = true;
  el.authView.hidden = name !== 'auth';
  el.chatView.hidden = name !== 'chat';
}

function toggleClass(cls, button, open) {
  const on = open ?? !document.body.classList.contains(cls);
  document.body.classList.toggle(cls, on);
  button.setAttribute('aria-expanded', on ? 'true' : 'false');
  el.scrim.hidden = !document.body.classList.contains('nav-open') && !document.body.classList.contains('online-open');
}

export function closeDrawers() {
  toggleClass('nav-open', el.menuToggle, false);
  toggleClass('online-open', el.onlineToggle, false);
}

export function wireLayout() {
  el.menuToggle.addEventListener('click', () => {
    toggleClass('nav-open', el.menuToggle);
    if (document.body.classList.contains('nav-open')) el.roomList.querySelector('button')?.focus();
  });
  el.onlineToggle.addEventListener('click', () => toggleClass('online-open', el.onlineToggle));
  el.scrim.addEventListener('click', closeDrawers);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && (document.body.classList.contains('nav-open') || document.body.classList.contains('online-open'))) {
      closeDrawers();
      el.menuToggle.focus();
    }
  });
  document.querySelector('.skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    el.input.focus();
  });
}
