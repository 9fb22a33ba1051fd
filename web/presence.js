// Who is online in a room and who is typing. The online list starts from
// `subscribed.presence` and follows `joined` / `left`, and the `presence`
// summary a server sends instead when several users come or go within one
// tick (only to a client whose hello asked for "presence_summary"; see
// socket.js). Arrivals and departures also show as notices in the room.
//
// The pure functions at the top change a Set of names and say what notice
// to show; the rest puts that on the page.

import { el } from './elements.js';
import { S, isMe, TYPING_SHOWN } from './state.js';
import { h, avatar } from './dom.js';
import { addNotice } from './messages.js';

/** "ann", "ann, bob, cy" or "ann, bob and 3 others". */
export function summarizeNames(names) {
  if (names.length <= 3) return names.join(', ');
  return `${names.slice(0, 2).join(', ')} and ${names.length - 2} others`;
}

export function typingText(who) {
  if (who.length === 1) return `${who[0]} is typing…`;
  if (who.length === 2) return `${who[0]} and ${who[1]} are typing…`;
  if (who.length > 2) return 'Several people are typing…';
  return '';
}

/** Applies one `joined` or `left` to `online`; the notice to show, or null when nothing changed. */
export function applyPresence(online, frame) {
  if (frame.type === 'joined') {
    const notice = online.has(frame.user) ? null : `${frame.user} joined the room`;
    online.add(frame.user);
    return notice;
  }
  const notice = online.has(frame.user) ? `${frame.user} left the room` : null;
  online.delete(frame.user);
  return notice;
}

/**
 * Applies a `presence` summary to `online`. The summary is shared by the
 * whole room, so it may name us (never worth a notice) or users we already
 * knew about. Returns the notices to show and who went.
 */
export function applyRoster(online, frame, isSelf) {
  const joined = frame.joined || [];
  const came = joined.filter((u) => !online.has(u) && !isSelf(u));
  const went = (frame.left || []).filter((u) => online.has(u) && !isSelf(u));
  for (const u of joined) online.add(u);
  for (const u of went) online.delete(u);
  const notices = [];
  if (came.length) notices.push(`${summarizeNames(came)} joined the room`);
  if (went.length) notices.push(`${summarizeNames(went)} left the room`);
  return { notices, went };
}

export function renderOnline() {
  const view = S.current ? S.views.get(S.current) : null;
  const names = view ? [...view.online].sort((a, b) => a.localeCompare(b)) : [];
  el.onlineCount.textContent = String(names.length);
  el.onlineToggleCount.textContent = String(names.length);
  el.onlineList.replaceChildren(
    ...names.map((name) =>
      h(
        'li',
        { dataset: { user: name } },
        avatar(name, 'small'),
        isMe(name)
          ? h('span', { className: 'online-name', text: name })
          : h('button', { className: 'online-name user-link', text: name, attrs: { type: 'button', title: `Send ${name} a direct message` }, dataset: { user: name } }),
        isMe(name) ? h('span', { className: 'you', text: 'you' }) : null,
      ),
    ),
  );
}

export function renderTyping() {
  const view = S.current ? S.views.get(S.current) : null;
  el.typing.textContent = typingText(view ? [...view.typing.keys()] : []);
}

export function clearTyping(view, user) {
  const t = view.typing.get(user);
  if (t === undefined) return;
  clearTimeout(t);
  view.typing.delete(user);
  if (S.current === view.name) renderTyping();
}

export function onTyping(frame) {
  const view = S.views.get(frame.room);
  if (!view || isMe(frame.user)) return;
  clearTimeout(view.typing.get(frame.user));
  view.typing.set(
    frame.user,
    setTimeout(() => clearTyping(view, frame.user), TYPING_SHOWN),
  );
  if (S.current === view.name) renderTyping();
}

// The three handlers below return true when the room is open in this page
// (the caller then refreshes the room list's counts).

export function onSubscribed(frame) {
  const view = S.views.get(frame.room);
  if (!view) return false;
  view.online = new Set(frame.presence || []);
  view.presenceKnown = true;
  if (S.current === view.name) renderOnline();
  return true;
}

export function onJoinedOrLeft(frame) {
  const view = S.views.get(frame.room);
  if (!view) return false;
  const notice = applyPresence(view.online, frame);
  if (notice) addNotice(view, notice);
  if (frame.type !== 'joined') clearTyping(view, frame.user);
  if (S.current === view.name) renderOnline();
  return true;
}

export function onRoster(frame) {
  const view = S.views.get(frame.room);
  if (!view) return false;
  const { notices, went } = applyRoster(view.online, frame, isMe);
  for (const u of went) clearTyping(view, u);
  for (const n of notices) addNotice(view, n);
  if (S.current === view.name) renderOnline();
  return true;
}
