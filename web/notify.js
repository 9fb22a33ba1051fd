// A short note at the bottom of the page for what happened away from any
// form: a refusal of a click on a name, being removed from a room that is
// not the one shown. It goes by itself; a new one replaces it.

import { el } from './elements.js';

const SHOWN = 8_000;
let timer = null;

export function notify(text) {
  clearTimeout(timer);
  el.toast.textContent = text;
  el.toast.hidden = false;
  timer = setTimeout(hideNotice, SHOWN);
}

export function hideNotice() {
  clearTimeout(timer);
  timer = null;
  if (el.toast) el.toast.hidden = true;
}
