// The connection's state in the header, and the banner that explains a
// lost connection and offers to reconnect now.

import { el } from './elements.js';
import { CLOSE } from './socket.js';

/** Why the socket went and when it tries again, e.g. "The server is restarting. Reconnecting… (next try in 2 s)". */
export function reconnectNotice(info) {
  const why =
    info.code === CLOSE.GOING_AWAY
      ? 'The server is restarting. '
      : info.code === CLOSE.SLOW_CONSUMER
        ? 'The connection fell behind. '
        : info.code === CLOSE.SESSION
          ? 'Renewing your login. '
          : 'Connection lost. ';
  const wait = info.delay ? ` (next try in ${Math.max(1, Math.round(info.delay / 1000))} s)` : '';
  return `${why}Reconnecting…${wait}`;
}

let bannerHandler = null;

/** A banner with an optional action button; setBanner(null) hides it. */
export function setBanner(text, action, handler) {
  el.banner.hidden = !text;
  el.bannerText.textContent = text || '';
  el.bannerAction.hidden = !action;
  el.bannerAction.textContent = action || '';
  bannerHandler = handler || null;
}

/** Shows a Connection state; `reconnect` is what the banner's button does. */
export function showConnectionState(state, info, reconnect) {
  document.body.dataset.conn = state;
  el.connStatus.dataset.state = state;
  if (state === 'open') {
    el.connStatus.textContent = 'Connected';
    setBanner(null);
  } else if (state === 'connecting') {
    el.connStatus.textContent = 'Connecting…';
  } else if (state === 'reconnecting') {
    el.connStatus.textContent = 'Reconnecting…';
    setBanner(reconnectNotice(info), 'Reconnect now', reconnect);
  } else if (state === 'closed') {
    el.connStatus.textContent = 'Disconnected';
    setBanner(`Disconnected: ${info.reason}`, 'Reconnect', reconnect);
  } else {
    el.connStatus.textContent = '';
  }
}

export function wireStatus() {
  el.bannerAction.addEventListener('click', () => bannerHandler?.());
}
