// A room's history over HTTP: the newest page on entering, older pages on
// scrolling up (keeping the reader's place), and what the top of the list
// says meanwhile.

import { api } from './api.js';
import { el } from './elements.js';
import { S, HISTORY_PAGE } from './state.js';
import { h, clear } from './dom.js';
import { insertMessage, renderWelcome, scrollToBottom } from './messages.js';
import { handleApiError } from './session.js';

/**
 * What "Try again" does for a room: an older page once the room has
 * history, else `reopen(name)` enters the room afresh.
 */
export function retryFor(view, reopen) {
  return () => (view.loaded ? loadOlder(view) : reopen(view.name));
}

/** state: 'loading', 'older', 'error' (with detail and retry) or none (what the history allows). */
export function renderStart(view, state, detail, retry) {
  const start = view.start;
  if (!state) {
    if (!view.hasMore) {
      renderWelcome(view);
      return;
    }
    clear(start);
    start.className = 'room-start';
    const more = h('button', { className: 'link-button', text: 'Load older messages', attrs: { type: 'button' } });
    more.addEventListener('click', () => loadOlder(view));
    start.append(more);
    return;
  }
  clear(start);
  start.className = 'room-start';
  if (state === 'loading' || state === 'older') {
    start.append(h('span', { className: 'spinner', attrs: { 'aria-hidden': 'true' } }), state === 'loading' ? 'Loading messages…' : 'Loading older messages…');
    return;
  }
  start.classList.add('error');
  const again = h('button', { className: 'link-button', text: 'Try again', attrs: { type: 'button' } });
  again.addEventListener('click', retry);
  start.append(`Could not load messages: ${detail}. `, again);
}

/** The newest page, once per room; `reopen` is what "Try again" does if it fails. */
export async function loadInitial(view, reopen) {
  if (view.loaded) return;
  if (view.loading) return view.loading;
  view.loading = (async () => {
    renderStart(view, 'loading');
    view.loadError = null;
    try {
      const page = await api.history(view.name, { limit: HISTORY_PAGE });
      for (const m of page.messages) insertMessage(view, m, { history: true });
      view.lastId = Math.max(view.lastId, page.next_after || 0, ...page.messages.map((m) => m.id));
      view.nextBefore = page.next_before;
      view.hasMore = !!page.has_more && page.next_before !== null;
      view.loaded = true;
      renderStart(view);
      if (S.current === view.name) {
        scrollToBottom();
        maybeLoadOlder();
      }
    } catch (err) {
      if (handleApiError(err)) return;
      // Kept for the caller: a 403 here means banned (rooms.js).
      view.loadError = err;
      renderStart(view, 'error', err.message, retryFor(view, reopen));
    } finally {
      view.loading = null;
    }
  })();
  return view.loading;
}

export async function loadOlder(view) {
  if (!view.hasMore || view.loadingOlder || !view.loaded) return;
  view.loadingOlder = true;
  renderStart(view, 'older');
  try {
    const page = await api.history(view.name, { before: view.nextBefore, limit: HISTORY_PAGE });
    const shown = S.current === view.name;
    const before = el.scroller.scrollHeight;
    const top = el.scroller.scrollTop;
    for (const m of page.messages) insertMessage(view, m, { history: true });
    // Changes that came meanwhile to messages not on this page are already in any later page.
    view.orphans.clear();
    view.nextBefore = page.next_before;
    view.hasMore = !!page.has_more && page.next_before !== null;
    renderStart(view);
    if (shown) el.scroller.scrollTop = top + (el.scroller.scrollHeight - before);
  } catch (err) {
    view.orphans.clear();
    if (handleApiError(err)) return;
    // The room has history (loadOlder needs it), so trying again means this page again.
    renderStart(view, 'error', err.message, () => loadOlder(view));
  } finally {
    view.loadingOlder = false;
  }
  if (S.current === view.name) maybeLoadOlder();
}

/** Loads older pages while the list does not fill the screen. */
export function maybeLoadOlder() {
  const view = S.views.get(S.current);
  if (view && view.hasMore && el.scroller.scrollTop < 150) loadOlder(view);
}
